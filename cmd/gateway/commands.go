package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/llamagate/llamagate/auth"
	"github.com/llamagate/llamagate/config"
)

// hashKey is `llamagate hash-key`: it reads a secret from stdin and prints
// the line to put in the config's `hash:`.
func hashKey(stdin io.Reader, stdout io.Writer) int {
	h, err := auth.ReadSecretHash(stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "llamagate hash-key:", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

// configCommand is `llamagate config check FILE` (errors with line
// numbers, exit 1) and `llamagate config print [flags]` (the effective
// configuration: file, environment and flags, secrets redacted).
func configCommand(args []string, stdout io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: llamagate config check FILE | config print [--config FILE] [flags]")
		return 2
	}
	switch args[0] {
	case "check":
		fs := flag.NewFlagSet("config check", flag.ContinueOnError)
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			fmt.Fprintln(os.Stderr, "usage: llamagate config check FILE")
			return 2
		}
		cfg, err := config.Load(fs.Arg(0))
		if err == nil && cfg.Auth.Enabled() {
			_, err = cfg.Auth.LoadKeys()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok (%d models listed, %d keys)\n", fs.Arg(0), len(cfg.Models), len(cfg.Auth.Keys))
		return 0
	case "print":
		f, set, err := parseFlags(args[1:])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		cfg, err := loadConfig(f, set)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.Auth = cfg.Auth.Redacted()
		enc := yaml.NewEncoder(stdout)
		enc.SetIndent(2)
		if err := enc.Encode(cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown config command %q (check or print)\n", args[0])
	return 2
}

// isLoopback reports whether addr only listens on a loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
