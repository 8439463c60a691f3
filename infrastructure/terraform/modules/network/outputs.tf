output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "VPC CIDR block."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets (nodes, data stores)."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Public subnets (internet-facing ALBs, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "availability_zones" {
  description = "Availability zones in use."
  value       = local.azs
}

output "database_subnet_ids" {
  description = "Isolated subnets for RDS (one per AZ)."
  value       = [for k, s in aws_subnet.data : s.id if startswith(k, "database-")]
}

output "cache_subnet_ids" {
  description = "Isolated subnets for ElastiCache (one per AZ)."
  value       = [for k, s in aws_subnet.data : s.id if startswith(k, "cache-")]
}

output "database_subnets_cidr" {
  description = "One CIDR covering every database subnet."
  value       = local.database_block
}

output "cache_subnets_cidr" {
  description = "One CIDR covering every cache subnet."
  value       = local.cache_block
}
