//! HTTP/1.1 over hyper on 127.0.0.1: checks the bearer token, logs every request, and hands it to
//! `api::handle`; plus the controller's 50 ms loop.
//!
//! Leaves out TLS (clients reach the double over plain `http://`) and HTTP/2.

use super::api::{self, Request as ApiRequest};
use super::{State, lock};
use super::{faults, status};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// How often the controllers run.
const TICK: Duration = Duration::from_millis(50);

/// Accepts connections until the task is aborted; aborting drops (and so ends) every connection.
pub(crate) async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(respond(&state, req).await) }
            });
            // A client hanging up mid-request is its business, not the double's.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Runs the controllers every [`TICK`] until the task is aborted.
pub(crate) async fn run_controllers(state: Arc<Mutex<State>>) {
    let mut interval = tokio::time::interval(TICK);
    // A tick that ran long (a busy machine, many objects) is not made up with a burst of
    // back-to-back ticks, which would keep the server from answering on this one thread.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let mut guard = lock(&state);
        let State {
            store, controller, ..
        } = &mut *guard;
        controller.tick(store);
    }
}

async fn respond(state: &Mutex<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let user_agent = header(USER_AGENT).unwrap_or_default();
    let authorization = header(AUTHORIZATION);
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut retry_after = None;
    let mut hang_after = false;
    let reply = {
        let mut guard = lock(state);
        let logged = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        guard.log.push((method.clone(), logged));
        let mut injected = guard.faults.take(&method, &path);
        if injected == Some(faults::Answer::HandleThenHang) {
            hang_after = true;
            injected = None;
        }
        // No token means anonymous access, which the double allows; a wrong one is refused. A
        // service-account token the double issued authenticates too (it does no RBAC).
        let expected = format!("Bearer {}", guard.token);
        let accepted = |a: &str| {
            a == expected
                || a.strip_prefix("Bearer ")
                    .is_some_and(|t| guard.store.tokens.is_issued(t))
        };
        if let Some(answer) = injected {
            match answer {
                faults::Answer::Hang | faults::Answer::HandleThenHang => None,
                faults::Answer::Status {
                    code,
                    retry_after: seconds,
                } => {
                    retry_after = seconds;
                    Some(status::Reply::ok(code, faults::status_body(code, seconds)))
                }
            }
        } else if authorization.as_deref().is_some_and(|a| !accepted(a)) {
            Some(status::unauthorized())
        } else {
            let request = ApiRequest {
                method: &method,
                path: &path,
                query: &query,
                content_type: &content_type,
                user_agent: &user_agent,
                body: &body,
            };
            Some(api::handle(&mut guard.store, &request))
        }
    };
    let Some(reply) = reply.filter(|_| !hang_after) else {
        // A hang: silent until the double stops, which drops this connection.
        return std::future::pending().await;
    };
    let bytes = serde_json::to_vec(&reply.body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() =
        StatusCode::from_u16(reply.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
