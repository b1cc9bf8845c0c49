locals {
  tags = { a = "x", b = 2, "a%%{" = "z" }
}
