// Package awsusage finds which AWS API operations a program can call, by reading its code: the
// least-privilege check compares them with the IAM policies template.yaml gives each function.
//
// It type-checks the module's own packages from source (dependencies come from the compiler's export
// data, as `go list -export` leaves them), walks the call graph from main and the package
// initialisers, and records every reachable call of an aws-sdk-go-v2 client method — made on the
// client itself or through a smaller interface with the SDK's signatures — as "<iam-prefix>:<Operation>".
// Interface calls reach every method of the module that implements the interface (class hierarchy
// analysis): an over-approximation, never a miss. Nothing deployed imports this package.
package awsusage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// iamPrefix maps an SDK service package to its IAM action prefix where the two differ.
var iamPrefix = map[string]string{"sfn": "states"}

// Call is one operation and where the code calls it.
type Call struct {
	Action string // "rds:DescribeGlobalClusters"
	At     string // file:line of the first reachable call
}

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Standard   bool
	Module     *struct{ Path string }
	Imports    []string
}

// Operations returns the AWS operations reachable from the main package pkg ("./functions/todo-api"),
// built as Lambda builds it (-tags lambda.norpc, CGO_ENABLED=0), sorted by action.
func Operations(dir, pkg string) ([]Call, error) {
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "-export", "-json", pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w\n%s", pkg, err, stderr.String())
	}
	var (
		pkgs   = map[string]*listedPackage{}
		module string
		target string
	)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs[p.ImportPath] = &p
		target = p.ImportPath // -deps lists the named package last
	}
	if t := pkgs[target]; t.Module != nil {
		module = t.Module.Path
	}
	a := &analysis{
		fset:    token.NewFileSet(),
		listed:  pkgs,
		module:  module,
		checked: map[string]*types.Package{},
		decls:   map[*types.Func]*ast.FuncDecl{},
		info: &types.Info{
			Uses:       map[*ast.Ident]types.Object{},
			Defs:       map[*ast.Ident]types.Object{},
			Selections: map[*ast.SelectorExpr]*types.Selection{},
			Types:      map[ast.Expr]types.TypeAndValue{},
		},
	}
	a.gc = importer.ForCompiler(a.fset, "gc", func(path string) (io.ReadCloser, error) {
		p, ok := pkgs[path]
		if !ok || p.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(p.Export)
	})
	if _, err := a.Import(target); err != nil {
		return nil, err
	}
	return a.reachableCalls(), nil
}

type analysis struct {
	fset    *token.FileSet
	listed  map[string]*listedPackage
	module  string
	gc      types.Importer
	checked map[string]*types.Package
	inits   []ast.Node // package-level var initialisers and init functions: roots
	mains   []*ast.FuncDecl
	decls   map[*types.Func]*ast.FuncDecl
	named   []*types.Named // the module's concrete named types, for interface dispatch
	info    *types.Info
}

func (a *analysis) inModule(path string) bool {
	return a.module != "" && (path == a.module || strings.HasPrefix(path, a.module+"/"))
}

// Import type-checks module packages from source and takes everything else from export data.
func (a *analysis) Import(path string) (*types.Package, error) {
	if !a.inModule(path) {
		return a.gc.Import(path)
	}
	if p, ok := a.checked[path]; ok {
		return p, nil
	}
	lp, ok := a.listed[path]
	if !ok {
		return nil, fmt.Errorf("package %s is not among the dependencies go list reported", path)
	}
	var files []*ast.File
	for _, f := range lp.GoFiles {
		af, err := parser.ParseFile(a.fset, filepath.Join(lp.Dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, af)
	}
	conf := types.Config{Importer: a}
	p, err := conf.Check(path, a.fset, files, a.info)
	if err != nil {
		return nil, fmt.Errorf("type-check %s: %w", path, err)
	}
	a.checked[path] = p
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				fn, _ := a.info.Defs[d.Name].(*types.Func)
				if fn == nil {
					continue
				}
				a.decls[fn] = d
				if d.Recv == nil && d.Name.Name == "init" {
					a.inits = append(a.inits, d)
				}
				if d.Recv == nil && d.Name.Name == "main" && p.Name() == "main" {
					a.mains = append(a.mains, d)
				}
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					a.inits = append(a.inits, d)
				}
			}
		}
	}
	for _, name := range p.Scope().Names() {
		if tn, ok := p.Scope().Lookup(name).(*types.TypeName); ok {
			if n, ok := tn.Type().(*types.Named); ok && !types.IsInterface(n) {
				a.named = append(a.named, n)
			}
		}
	}
	return p, nil
}

func (a *analysis) reachableCalls() []Call {
	found := map[string]string{}
	seen := map[ast.Node]bool{}
	queue := append([]ast.Node{}, a.inits...)
	for _, m := range a.mains {
		queue = append(queue, m)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		ast.Inspect(n, func(x ast.Node) bool {
			switch x := x.(type) {
			case *ast.CallExpr:
				if action, ok := a.sdkCall(x); ok {
					if _, dup := found[action]; !dup {
						found[action] = a.fset.Position(x.Pos()).String()
					}
				}
			case *ast.Ident:
				fn, ok := a.info.Uses[x].(*types.Func)
				if !ok || fn.Pkg() == nil || !a.inModule(fn.Pkg().Path()) && !types.IsInterface(recvType(fn)) {
					return true
				}
				for _, target := range a.dispatch(fn) {
					if d, ok := a.decls[target]; ok {
						queue = append(queue, d)
					}
				}
			}
			return true
		})
	}
	calls := make([]Call, 0, len(found))
	for action, at := range found {
		calls = append(calls, Call{Action: action, At: at})
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].Action < calls[j].Action })
	return calls
}

// dispatch resolves a used function to the module functions it may run: itself, or for an interface
// method every module method that implements it.
func (a *analysis) dispatch(fn *types.Func) []*types.Func {
	fn = fn.Origin()
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil || !types.IsInterface(sig.Recv().Type()) {
		return []*types.Func{fn}
	}
	iface, _ := sig.Recv().Type().Underlying().(*types.Interface)
	if iface == nil {
		return nil
	}
	var out []*types.Func
	for _, n := range a.named {
		for _, t := range []types.Type{n, types.NewPointer(n)} {
			if !types.Implements(t, iface) {
				continue
			}
			obj, _, _ := types.LookupFieldOrMethod(t, true, fn.Pkg(), fn.Name())
			if m, ok := obj.(*types.Func); ok {
				out = append(out, m)
			}
			break
		}
	}
	return out
}

// sdkCall recognises a call of an AWS operation: a method named Op whose parameters include
// *<service>.OpInput, and the RDS IAM token builder (rds-db:connect).
func (a *analysis) sdkCall(call *ast.CallExpr) (string, bool) {
	var obj types.Object
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		obj = a.info.Uses[f.Sel]
	case *ast.Ident:
		obj = a.info.Uses[f]
	}
	fn, ok := obj.(*types.Func)
	if !ok {
		return "", false
	}
	if fn.Pkg() != nil && fn.Pkg().Path() == "github.com/aws/aws-sdk-go-v2/feature/rds/auth" && fn.Name() == "BuildAuthToken" {
		return "rds-db:connect", true
	}
	sig := fn.Type().(*types.Signature)
	for i := 0; i < sig.Params().Len(); i++ {
		ptr, ok := sig.Params().At(i).Type().(*types.Pointer)
		if !ok {
			continue
		}
		named, ok := ptr.Elem().(*types.Named)
		if !ok || named.Obj().Pkg() == nil {
			continue
		}
		path := named.Obj().Pkg().Path()
		if !strings.HasPrefix(path, sdkServicePrefix) || named.Obj().Name() != fn.Name()+"Input" {
			continue
		}
		svc := strings.TrimPrefix(path, sdkServicePrefix)
		if p, ok := iamPrefix[svc]; ok {
			svc = p
		}
		return svc + ":" + fn.Name(), true
	}
	return "", false
}

func recvType(fn *types.Func) types.Type {
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		return sig.Recv().Type()
	}
	return types.Typ[types.Invalid]
}
