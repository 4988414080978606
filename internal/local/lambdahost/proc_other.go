//go:build unix && !linux

package lambdahost

import (
	"os/exec"
	"syscall"
)

var sigterm = syscall.SIGTERM

func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
