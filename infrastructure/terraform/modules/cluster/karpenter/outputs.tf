output "node_pools" {
  description = "Names of the Karpenter NodePools created."
  value       = keys(var.node_pools)
}
