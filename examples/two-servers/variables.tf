# Provider settings. Each defaults to null, so the usual environment variables apply; set them
# when the environment cannot be used (the examples' acceptance test does).

variable "vault_address" {
  description = "Vault's URL; VAULT_ADDR when null."
  type        = string
  default     = null
}

variable "vault_token" {
  description = "The Vault token; VAULT_TOKEN when null."
  type        = string
  default     = null
  sensitive   = true
}

variable "kubeconfig" {
  description = "A kubeconfig file; KUBE_CONFIG_PATH or KUBECONFIG when null."
  type        = string
  default     = null
}

# Where the servers run.

variable "namespace" {
  description = "The existing namespace for both servers."
  type        = string
  default     = "kyuubi"
}

variable "vault_role" {
  description = "The Vault Kubernetes-auth role the Vault Agent injector logs in with."
  type        = string
  default     = "kyuubi"
}

# The dbt profile.

variable "dbt_profile" {
  description = "The profile name in profiles.yml; a dbt project selects it with `profile:` in dbt_project.yml."
  type        = string
  default     = "konoha"
}

variable "dbt_schema" {
  description = "The schema (Spark database) dbt builds models into."
  type        = string
  default     = "analytics"
}

variable "dbt_user" {
  description = "The user dbt connects as; with share level USER it picks the engine."
  type        = string
  default     = "dbt"
}
