// Command archcheck is linked by make check-arch for several -march
// targets: it pulls in ggml (base and CPU code) and the AMX probe package,
// the code whose compiled form depends on the target CPU, and prints the
// CPU features the build was compiled for. It is never run in CI.
package main

import (
	"context"
	"fmt"

	_ "github.com/ollama/ollama/ml/backend/ggml/ggml/src"

	"github.com/llamagate/llamagate/backends/llamacpp/amx"
)

func main() {
	fmt.Println(amx.Setup(context.Background()).Reason)
}
