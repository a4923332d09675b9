output "jdbc_url" {
  description = "The server's JDBC URL inside the cluster (jdbc:kyuubi://<name>.<namespace>.svc.cluster.local:<port>/)."
  value       = konoha_kyuubi_server.this.jdbc_url
}

output "rest_url" {
  description = "The server's REST API base URL inside the cluster."
  value       = konoha_kyuubi_server.this.rest_url
}

output "profile_ref" {
  description = "The profile the server's engines run with, <mount>/<name>@sha256:<hex>."
  value       = konoha_spark_profile.this.ref
}

output "share_level" {
  description = "The server's engine share level."
  value       = konoha_kyuubi_server.this.share_level
}
