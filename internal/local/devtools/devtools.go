// Package devtools finds the tools that local runs and tests use beside Go: the repository root,
// Node.js 22 from the project's node_modules, and freshly built function binaries.
//
// Nothing deployed imports it.
package devtools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Root returns the repository root: the nearest directory above the working directory holding go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from inside the Switchyard checkout")
		}
		dir = parent
	}
}

// Node returns a Node.js of major version 22 or later: $SWITCHYARD_NODE, the project's
// node_modules/.bin/node (npm's node@22, installed by `npm ci`), or node on PATH.
func Node() (string, error) {
	var candidates []string
	if p := os.Getenv("SWITCHYARD_NODE"); p != "" {
		candidates = append(candidates, p)
	}
	if root, err := Root(); err == nil {
		candidates = append(candidates, filepath.Join(root, "node_modules", ".bin", "node"))
	}
	if p, err := exec.LookPath("node"); err == nil {
		candidates = append(candidates, p)
	}
	var seen []string
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").Output()
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(out))
		seen = append(seen, c+" "+v)
		major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(v, "v"), ".", 2)[0])
		if major >= 22 {
			return c, nil
		}
	}
	return "", fmt.Errorf("no Node.js 22 or later (found: %s): run `npm ci` in the repository root, "+
		"which installs npm's node@22 into node_modules", strings.Join(append(seen, "nothing else"), ", "))
}

// NodeModule returns the path of an installed npm package's file below node_modules.
func NodeModule(rel string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "node_modules", rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing: run `npm ci` in the repository root", filepath.Join("node_modules", rel))
	}
	return p, nil
}

// BuildFunction builds functions/<name> as the Lambda `bootstrap` for this machine's architecture,
// with the deployment build's flags, into outDir, and returns the binary's path.
func BuildFunction(ctx context.Context, name, outDir string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	out := filepath.Join(outDir, name, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags", "-s -w", "-o", out, "./functions/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build functions/%s: %w\n%s", name, err, b)
	}
	return out, nil
}
