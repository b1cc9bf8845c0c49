locals {
  ports = <<-EOT
%    %{~for p in var.ports}
    listen ${p};
    %{~endfor}
  EOT
}
