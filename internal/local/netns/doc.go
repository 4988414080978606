// Package netns makes the drill's cuttable links out of the kernel's own network: each Link is a
// network namespace joined to the root namespace by a veth pair, with a forwarder listening inside
// the namespace that carries every connection on to its target. Cutting a link takes the
// namespace's end of the veth down, so the kernel drops every packet on it: connects and
// established connections time out, exactly as across a partitioned network, and nothing in
// user space decides what a cut link does.
//
// It needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's ip. Names carry the process ID,
// addresses come from a block chosen per process, and Close deletes the namespace, which takes
// the veth pair with it; namespaces left by a drill that was killed are removed the next time
// one starts.
//
// It is local tooling: nothing deployed imports it.
package netns
