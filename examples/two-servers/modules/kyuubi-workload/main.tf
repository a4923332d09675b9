# One Kyuubi workload: a Spark profile in Vault and the Kyuubi server whose engines run with it.
#
# The server references the profile's `ref` (`<mount>/<name>@sha256:<hex>`), which is known at
# plan time: Terraform writes the profile first, and a change to any executor setting shows up
# in the same plan as an update of the server (a rolling restart). See docs/guides/restarts.md.
#
# This module configures no provider: the caller's `konoha` provider (Vault and Kubernetes
# settings) is used.

terraform {
  required_version = ">= 1.5"
  required_providers {
    konoha = {
      source = "konoha/konoha"
    }
  }
}

locals {
  profile_name = coalesce(var.profile_name, "spark/${var.name}")
}

resource "konoha_spark_profile" "this" {
  mount = var.profile_mount
  name  = local.profile_name

  executor_instances     = var.executor_instances
  executor_memory        = var.executor_memory
  executor_cores         = var.executor_cores
  executor_request_cores = var.executor_request_cores
  shuffle_partitions     = var.shuffle_partitions
  extra_conf             = var.extra_spark_conf

  custom_metadata = {
    kyuubi-server = var.name
  }
}

resource "konoha_kyuubi_server" "this" {
  name               = var.name
  namespace          = var.namespace
  image              = var.image
  share_level        = var.share_level
  thrift_binary_port = var.thrift_binary_port
  spark_profile      = konoha_spark_profile.this.ref
  delivery           = var.delivery
  restart_engines    = var.restart_engines
  kyuubi_conf        = var.kyuubi_conf

  # The Vault Agent injector renders /etc/kyuubi/spark.env from the profile's secret; with
  # delivery = "kubernetes-secret" the provider copies it into a Secret instead.
  dynamic "vault_agent" {
    for_each = var.delivery == "vault-agent" ? [var.vault_role] : []
    content {
      role = vault_agent.value
    }
  }

  engine {
    image        = var.engine_image
    idle_timeout = var.engine_idle_timeout
  }
}
