package lambdahost

import (
	"os/exec"
	"syscall"
)

var sigterm = syscall.SIGTERM

// setProcAttr puts each function process in its own process group, so a Ctrl-C aimed at the host
// reaches the host (which then stops its processes in order) rather than every child at once, and
// asks the kernel to kill the process if the host dies without cleaning up.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
