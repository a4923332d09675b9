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
