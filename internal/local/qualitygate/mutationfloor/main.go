// Command mutationfloor fails when a gremlins JSON report is below a test-efficacy floor:
//
//	go run ./internal/local/qualitygate/mutationfloor -floor 95 report.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/switchyard-dr/switchyard/internal/local/qualitygate"
)

func main() {
	floor := flag.Float64("floor", 0, "the least test efficacy, in percent")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mutationfloor -floor <percent> <gremlins JSON report>")
		os.Exit(2)
	}
	r, err := qualitygate.ReadMutationResult(flag.Arg(0))
	if err == nil {
		err = r.MeetsFloor(*floor)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutationfloor: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("test efficacy %.2f %% (%d killed, %d lived, %d not covered) meets the floor of %g %%\n",
		r.Efficacy(), r.Killed, r.Lived, r.NotCovered, *floor)
}
