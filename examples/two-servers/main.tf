# Two Kyuubi servers for dbt, each with its own Spark profile, from one module:
#
#   kyuubi-dbt         share level USER   (one engine per dbt user), JDBC port 10009
#   kyuubi-dbt-shared  share level SERVER (one engine for everyone), JDBC port 10010
#
# and a dbt profiles.yml pointing at both, as the output `dbt_profiles_yml`.
#
#   export VAULT_ADDR=... VAULT_TOKEN=... KUBECONFIG=~/.kube/config
#   terraform get          # installs the local module (with dev_overrides, skip `terraform init`)
#   terraform apply
#   terraform output -raw dbt_profiles_yml > ~/.dbt/profiles.yml
#
# The namespace (`kyuubi` by default) must exist, and with the default vault-agent delivery the
# cluster needs the Vault Agent injector and a Kubernetes-auth role (`vault_role`) allowed to
# read the profiles.

terraform {
  required_version = ">= 1.5"
  required_providers {
    konoha = {
      source = "konoha/konoha"
    }
  }
}

# Every setting left null falls back to the environment: VAULT_ADDR and VAULT_TOKEN for Vault,
# KUBE_CONFIG_PATH or KUBECONFIG for Kubernetes.
provider "konoha" {
  vault {
    address = var.vault_address
    token   = var.vault_token
  }
  kubernetes {
    config_path = var.kubeconfig
  }
}

locals {
  # Executor sizing both workloads start from; the shared server gets more executors, since
  # every session of every user runs on its one engine.
  executors = {
    executor_memory    = "4g"
    executor_cores     = 2
    shuffle_partitions = 32
  }

  # Users may not resize executors per connection (`;#spark.executor.memory=...` in the JDBC
  # URL, or dbt's server_side_parameters): the profile is the one place that sets them.
  locked_settings = {
    "kyuubi.session.conf.ignore.list" = "spark.executor.instances,spark.executor.memory,spark.executor.cores"
  }
}

module "kyuubi_dbt" {
  source = "./modules/kyuubi-workload"

  name               = "kyuubi-dbt"
  namespace          = var.namespace
  share_level        = "USER"
  thrift_binary_port = 10009
  vault_role         = var.vault_role
  kyuubi_conf        = local.locked_settings

  executor_instances = 4
  executor_memory    = local.executors.executor_memory
  executor_cores     = local.executors.executor_cores
  shuffle_partitions = local.executors.shuffle_partitions
}

module "kyuubi_dbt_shared" {
  source = "./modules/kyuubi-workload"

  name               = "kyuubi-dbt-shared"
  namespace          = var.namespace
  share_level        = "SERVER"
  thrift_binary_port = 10010
  vault_role         = var.vault_role
  kyuubi_conf        = local.locked_settings
  # A SERVER engine lives as long as sessions keep arriving: stop it after each profile change
  # rather than waiting for it to idle out.
  restart_engines = true

  executor_instances = 8
  executor_memory    = local.executors.executor_memory
  executor_cores     = local.executors.executor_cores
  shuffle_partitions = local.executors.shuffle_partitions
}

locals {
  # One dbt target per server. The host and port come from the JDBC URL, so dbt always
  # follows the servers' actual Service names and ports. Each target sets retry_all, so dbt
  # waits for an engine that is still starting instead of failing the first session at once.
  dbt_targets = [
    for target in [
      { target = "dev", server = "kyuubi-dbt", module = module.kyuubi_dbt },
      { target = "shared", server = "kyuubi-dbt-shared", module = module.kyuubi_dbt_shared },
      ] : {
      target      = target.target
      server      = target.server
      share_level = target.module.share_level
      jdbc_url    = target.module.jdbc_url
      host        = regex("^jdbc:kyuubi://([^:/]+):([0-9]+)/", target.module.jdbc_url)[0]
      port        = regex("^jdbc:kyuubi://([^:/]+):([0-9]+)/", target.module.jdbc_url)[1]
    }
  ]
}

output "jdbc_urls" {
  description = "Each server's JDBC URL inside the cluster, by server name."
  value       = { for t in local.dbt_targets : t.server => t.jdbc_url }
}

output "rest_urls" {
  description = "Each server's REST API base URL inside the cluster, by server name."
  value = {
    "kyuubi-dbt"        = module.kyuubi_dbt.rest_url
    "kyuubi-dbt-shared" = module.kyuubi_dbt_shared.rest_url
  }
}

output "profile_refs" {
  description = "The Spark profile each server's engines run with."
  value = {
    "kyuubi-dbt"        = module.kyuubi_dbt.profile_ref
    "kyuubi-dbt-shared" = module.kyuubi_dbt_shared.profile_ref
  }
}

output "dbt_profiles_yml" {
  description = "A dbt profiles.yml (dbt-spark, thrift method) with one target per server: terraform output -raw dbt_profiles_yml > ~/.dbt/profiles.yml"
  value = templatefile("${path.module}/profiles.yml.tftpl", {
    profile = var.dbt_profile
    schema  = var.dbt_schema
    user    = var.dbt_user
    targets = local.dbt_targets
  })
}
