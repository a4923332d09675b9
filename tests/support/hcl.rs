//! Configuration text the acceptance tests share.

use std::path::Path;

/// The `terraform` block that names konoha, and a `provider "konoha"` block reaching Vault at
/// `vault_addr` with `vault_token` and the cluster through the kubeconfig at `kubeconfig`.
pub fn provider_header(vault_addr: &str, vault_token: &str, kubeconfig: &Path) -> String {
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
    token   = "{vault_token}"
  }}
  kubernetes {{
    config_path = "{kubeconfig}"
  }}
}}
"#,
        kubeconfig = kubeconfig.display(),
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
