module warren.test/go_tls_probe

go 1.19
