//! Configuration text the acceptance tests share.

use std::path::Path;

/// The `terraform` block that names konoha, and a `provider "konoha"` block reaching Vault at
/// `vault_addr` with `vault_token` and the cluster through the kubeconfig at `kubeconfig`.
pub fn provider_header(vault_addr: &str, vault_token: &str, kubeconfig: &Path) -> String {
    let kubernetes = format!(
        "  kubernetes {{\n    config_path = \"{}\"\n  }}\n",
        kubeconfig.display()
    );
    header_with(vault_addr, vault_token, &kubernetes)
}

/// [`provider_header`] without a `kubernetes` block, for tests that need only Vault.
pub fn vault_provider_header(vault_addr: &str, vault_token: &str) -> String {
    header_with(vault_addr, vault_token, "")
}

/// The two blocks for a provider that logs in to Vault: `login` is the login block (e.g.
/// `auth_login_jwt { … }`), written inside `vault` in place of a token.
pub fn vault_login_header(vault_addr: &str, login: &str) -> String {
    blocks(vault_addr, &format!("{login}\n"), "")
}

/// The two blocks, with `more` as the last lines of the provider block.
fn header_with(vault_addr: &str, vault_token: &str, more: &str) -> String {
    blocks(
        vault_addr,
        &format!("    token   = \"{vault_token}\"\n"),
        more,
    )
}

/// `terraform` and `provider` blocks: `credentials` are the `vault` block's lines after its
/// address, `more` the provider block's last lines.
fn blocks(vault_addr: &str, credentials: &str, more: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    konoha = {{ source = "konoha/konoha" }}
  }}
}}

provider "konoha" {{
  vault {{
    address = "{vault_addr}"
{credentials}  }}
{more}}}
"#
    )
}

/// The body lines of a server that gets its profile through the Vault agent injector.
pub const VAULT_AGENT: &str = "  vault_agent {\n    role = \"kyuubi\"\n  }\n";

/// A profile `konoha_spark_profile.p` (`secret/spark/dbt`) with `executor_instances`, and a
/// server `konoha_kyuubi_server.dbt` that uses it, with `server_body` as its last lines (how it
/// gets the profile, and anything else the test needs).
pub fn profile_and_server(executor_instances: u32, server_body: &str) -> String {
    format!(
        r#"
resource "konoha_spark_profile" "p" {{
  mount              = "secret"
  name               = "spark/dbt"
  executor_instances = {executor_instances}
}}

resource "konoha_kyuubi_server" "dbt" {{
  name          = "kyuubi-dbt"
  image         = "apache/kyuubi:1.10.2-spark"
  engine {{
    image = "apache/spark:3.5.1"
  }}
  spark_profile = konoha_spark_profile.p.ref
{server_body}}}
"#
    )
}
