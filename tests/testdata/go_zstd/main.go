// Compresses stdin to stdout with Go's github.com/klauspost/compress/zstd, the encoder Headscale
// and Tailscale's control server use for map responses, for tests/zstd_go_test.ts:
//
//	go_zstd LEVEL MODE CRC
//
// LEVEL is fastest, default, better or best; MODE is "all" (EncodeAll as a single segment with
// the content size, as tailscale.com/util/zstdframe does for Headscale) or "stream" (an
// io.Writer: no content size, a window descriptor); CRC is "crc" or "nocrc".
//
// Built in GOPATH mode against Debian's golang-github-klauspost-compress-dev: the Go module
// proxy is not reachable from this project's machines.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go_zstd fastest|default|better|best all|stream crc|nocrc")
		os.Exit(2)
	}
	ok, level := zstd.EncoderLevelFromString(os.Args[1])
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown level", os.Args[1])
		os.Exit(2)
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(os.Args[3] == "crc"),
	}
	switch os.Args[2] {
	case "all":
		opts = append(opts, zstd.WithSingleSegment(true), zstd.WithZeroFrames(true))
		enc, err := zstd.NewWriter(nil, opts...)
		if err != nil {
			panic(err)
		}
		os.Stdout.Write(enc.EncodeAll(in, nil))
	case "stream":
		enc, err := zstd.NewWriter(os.Stdout, opts...)
		if err != nil {
			panic(err)
		}
		if _, err := enc.Write(in); err != nil {
			panic(err)
		}
		if err := enc.Close(); err != nil {
			panic(err)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[2])
		os.Exit(2)
	}
}
