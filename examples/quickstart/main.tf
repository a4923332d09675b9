# Quick start: one Spark profile stored in Vault (or OpenBao).
#
#   make demo            # builds the provider, starts a local OpenBao, applies this directory
#
# By hand: export VAULT_ADDR and VAULT_TOKEN, point Terraform at the provider (see README.md),
# then `terraform apply` here.

terraform {
  required_version = ">= 1.5"
  required_providers {
    konoha = {
      source = "konoha/konoha"
    }
  }
}

# Vault's address and token come from VAULT_ADDR and VAULT_TOKEN.
provider "konoha" {}

variable "mount" {
  description = "The KV v2 mount that holds the profiles."
  type        = string
  default     = "secret"
}

resource "konoha_spark_profile" "dbt" {
  mount = var.mount
  name  = "spark/dbt"

  executor_instances     = 4
  executor_memory        = "4g"
  executor_cores         = 2
  executor_request_cores = "1.8"
  executor_limit_cores   = "2"
  shuffle_partitions     = 32

  extra_conf = {
    "spark.sql.adaptive.enabled" = "true"
  }

  custom_metadata = {
    owner = "data-platform"
  }
}

output "profile_ref" {
  description = "What a konoha_kyuubi_server references to run with this profile."
  value       = konoha_spark_profile.dbt.ref
}

output "spark_env" {
  description = "The /etc/kyuubi/spark.env file the Kyuubi server will read."
  value       = konoha_spark_profile.dbt.rendered
}

output "recommended_shuffle_partitions" {
  value = konoha_spark_profile.dbt.recommended_shuffle_partitions
}
