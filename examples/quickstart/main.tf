# Quick start: one Spark profile stored in Vault (or OpenBao), and, when a cluster is given, a
# Kyuubi server whose engines run with it.
#
#   make demo            # builds the provider, starts a local OpenBao, applies this directory
#                        # (no cluster: the profile only)
#
# By hand: export VAULT_ADDR and VAULT_TOKEN, point Terraform at the provider (see README.md),
# then `terraform apply` here. Add `-var kubeconfig=$HOME/.kube/config` to deploy the server
# too (into the existing namespace `kyuubi`).

terraform {
  required_version = ">= 1.5"
  required_providers {
    konoha = {
      source = "konoha/konoha"
    }
  }
}

# Vault's address and token come from VAULT_ADDR and VAULT_TOKEN. The cluster is read from
# var.kubeconfig; it is contacted only when the server below exists.
provider "konoha" {
  kubernetes {
    config_path = var.kubeconfig == "" ? null : var.kubeconfig
  }
}

variable "mount" {
  description = "The KV v2 mount that holds the profiles."
  type        = string
  default     = "secret"
}

variable "kubeconfig" {
  description = "A kubeconfig file for the cluster that runs the Kyuubi server; empty for no server."
  type        = string
  default     = ""
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

# Only with a cluster: one Kyuubi server whose engines run with the profile above. A change to
# the profile changes `spark_profile` here too, so the plan shows the server's rolling restart.
resource "konoha_kyuubi_server" "dbt" {
  count = var.kubeconfig == "" ? 0 : 1

  name          = "kyuubi-dbt"
  namespace     = "kyuubi"
  image         = "apache/kyuubi:1.10.2-spark"
  share_level   = "USER"
  spark_profile = konoha_spark_profile.dbt.ref

  # The Vault Agent injector writes /etc/kyuubi/spark.env from the profile's secret.
  vault_agent {
    role = "kyuubi"
  }

  engine {
    image        = "apache/spark:3.5.3"
    idle_timeout = "PT30M"
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

output "jdbc_url" {
  description = "The Kyuubi server's JDBC URL inside the cluster; null without a cluster."
  value       = one(konoha_kyuubi_server.dbt[*].jdbc_url)
}
