//go:build wasip1

// Command wasm is the edge host rewrite compiled to WebAssembly for the Node.js loader that
// Lambda@Edge runs. Build it with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared (cmd/edgebundle does).
//
// The loader calls alloc(n) to get room for an n-byte JSON event, copies the event there, calls
// rewrite(n), and reads the JSON answer at ptr<<32|len: {"request":...} or
// {"errorType":...,"errorMessage":...}. The answer stays valid until the next call. When the signal
// it looked up changes, it copies the signal's JSON ({"answers":[...],"error":"..."}) the same way
// and calls signal(n) before the next rewrite: the module cannot do network I/O itself, and the
// routing decision stays in Go.
package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

// in and out live in package variables so the garbage collector keeps them while the loader
// reads or writes them through linear memory.
var in, out []byte

// current is the signal the loader last handed over.
var current edge.Signal

//go:wasmexport signal
func signal(size uint32) uint32 {
	var sig edge.Signal
	if err := json.Unmarshal(in[:size], &sig); err != nil {
		// A signal the loader could not encode is no signal: route to the pinned origin.
		current = edge.Signal{Error: "undecodable signal: " + err.Error()}
		return 1
	}
	current = sig
	return 0
}

//go:wasmexport alloc
func alloc(size uint32) unsafe.Pointer {
	if len(in) == 0 || uint32(len(in)) < size {
		in = make([]byte, max(size, 4096))
	}
	return unsafe.Pointer(&in[0])
}

//go:wasmexport rewrite
func rewrite(size uint32) uint64 {
	out = answer(out[:0], in[:size])
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}

func answer(b, event []byte) (result []byte) {
	defer func() {
		// A panic would kill the instance for every later request in this container.
		if p := recover(); p != nil {
			result = failure(b[:0], "Panic", fmt.Sprint(p))
		}
	}()
	ev, err := edge.DecodeEvent(event)
	if err != nil {
		return failure(b, typeName(err), err.Error())
	}
	req, err := edge.RouteRequest(ev, current)
	if err != nil {
		return failure(b, typeName(err), err.Error())
	}
	b = append(b, `{"request":`...)
	b = req.AppendJSON(b)
	return append(b, '}')
}

func failure(b []byte, errorType, message string) []byte {
	j, err := json.Marshal(map[string]string{"errorType": errorType, "errorMessage": message})
	if err != nil {
		return append(b, `{"errorType":"EncodeError","errorMessage":"the error could not be encoded"}`...)
	}
	return append(b, j...)
}

// typeName names the error by its Go type, as the native Lambda runtime does for errorType.
func typeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func main() {}
