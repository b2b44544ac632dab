//go:build !(amx && linux && amd64)

package amx

import "errors"

const compiled = false

const notCompiled = "not compiled in (build with AMX=1 to add ggml's AMX kernels)"

func enable() {}

func probeTiles() error { return errors.New("AMX kernels are not compiled in") }
