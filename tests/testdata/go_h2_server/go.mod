module warren.test/go_h2_server

go 1.19
