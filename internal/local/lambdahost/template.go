package lambdahost

import (
	"fmt"
	"maps"
	"path/filepath"

	"github.com/switchyard-dr/switchyard/internal/templatecheck"
)

// TemplateFunctions derives functions from the SAM template, so local routes, timeouts, memory
// and literal environment variables are the deployed ones: each function's binary is
// binDir/<name>/bootstrap (what `make build-local` writes under .build/local). Variables whose
// template values are intrinsics (endpoints, secrets) are absent and come from local configuration.
func TemplateFunctions(templatePath, binDir string) ([]Function, error) {
	tpl, err := templatecheck.Load(templatePath)
	if err != nil {
		return nil, err
	}
	var fns []Function
	for _, tf := range tpl.Functions() {
		f := Function{
			Name:     tf.Name,
			Binary:   filepath.Join(binDir, tf.Name, "bootstrap"),
			Env:      maps.Clone(tf.Environment),
			Timeout:  tf.Timeout,
			MemoryMB: tf.MemoryMB,
		}
		for _, r := range tf.Routes {
			f.Routes = append(f.Routes, Route{Method: r.Method, Path: r.Path})
		}
		// AutoPublishAlias is the one alias SAM creates; callers may qualify the function with it.
		for _, props := range []map[string]any{asMap(tpl.Globals["Function"]), tpl.Resources[tf.LogicalID].Properties} {
			if alias, ok := props["AutoPublishAlias"].(string); ok && alias != "" {
				f.Aliases = []string{alias}
			}
		}
		fns = append(fns, f)
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("%s declares no function with CodeUri functions/<name>/", templatePath)
	}
	return fns, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
