// Command nodeagent is an example node agent on lmct's Go client: it makes
// a pod-like subtree with limits and labels, runs a workload that outgrows
// its memory limit, watches the pod's events until the kernel's OOM
// killer ends it, and cleans up.
//
//	go run ./examples/nodeagent -pod demo
//
// It needs a running lmctld ($LMCT_SOCKET or /run/lmct/lmctld.sock) with
// the memory controller, and the right to create at the top (root, or a
// member of group lmct under the packaged service).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"lmct.dev/go/lmct"
	pb "lmct.dev/go/lmct/lmctpb"
)

func main() {
	socket := flag.String("socket", "", "lmctld's socket (default $LMCT_SOCKET or "+lmct.DefaultSocket+")")
	pod := flag.String("pod", "pod-demo", "the pod's container name")
	memory := flag.Uint64("memory", 32<<20, "the workload's memory limit, bytes")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("nodeagent: ")

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := runPod(ctx, *socket, *pod, *memory); err != nil {
		log.Fatal(err)
	}
}

func runPod(ctx context.Context, socket, pod string, memory uint64) (err error) {
	c, err := lmct.Dial(socket)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("lmctld %s, cgroup root %s\n", v.GetDaemon(), v.GetCgroupRoot())

	// The pod: one CPU and 256 MiB for everything in it; a workload and a
	// sidecar below, each with its own bounds within the pod's.
	labels := map[string]string{"agent": "nodeagent", "pod": pod}
	if err := c.Create(ctx, pod, &lmct.CreateOptions{Labels: labels,
		Limits: &pb.Limits{CpuMillis: proto.Uint64(1000), MemoryMax: proto.Uint64(256 << 20), PidsMax: proto.Uint64(256)}}); err != nil {
		return err
	}
	defer func() {
		// Clean up whatever happened: the pod and all below it.
		cctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		if derr := c.Destroy(cctx, pod, lmct.DestroyOptions{Recursive: true, Force: true}); derr != nil && err == nil {
			err = derr
		} else if derr == nil {
			fmt.Printf("destroyed %s\n", pod)
		}
	}()
	app, sidecar := pod+"/app", pod+"/sidecar"
	if err := c.Create(ctx, app, &lmct.CreateOptions{Labels: map[string]string{"role": "app"},
		Limits: &pb.Limits{MemoryMax: proto.Uint64(memory), SwapMax: proto.Uint64(0)}}); err != nil {
		return err
	}
	if err := c.Create(ctx, sidecar, &lmct.CreateOptions{Labels: map[string]string{"role": "sidecar"},
		Limits: lmct.LimitsCPU(0.1)}); err != nil {
		return err
	}
	pods, err := c.List(ctx, "", lmct.ListOptions{Labels: map[string]string{"agent": "nodeagent", "pod": pod}})
	if err != nil {
		return err
	}
	parts, err := c.List(ctx, pod, lmct.ListOptions{Recursive: true})
	if err != nil {
		return err
	}
	info, err := c.Show(ctx, app)
	if err != nil {
		return err
	}
	fmt.Printf("created %v with %v: %s memory.max %d, cpu %d millis (the pod's)\n", pods, parts, app,
		info.GetEffective().GetMemoryMax(), info.GetEffective().GetCpuMillis())

	// Watch the pod before anything runs in it.
	sub, err := c.Events(ctx, pod, &lmct.EventsOptions{Recursive: true})
	if err != nil {
		return err
	}
	defer sub.Close()

	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	stdio := &lmct.Stdio{Stdin: null, Stdout: null, Stderr: null}
	side, err := c.Run(ctx, sidecar, []string{"sleep", "600"}, &lmct.RunOptions{Stdio: stdio})
	if err != nil {
		return err
	}
	// A workload that doubles a string until the kernel kills it.
	work, err := c.Run(ctx, app, []string{"sh", "-c", `x=lmct; while :; do x="$x$x"; done`}, &lmct.RunOptions{Stdio: stdio})
	if err != nil {
		return err
	}
	fmt.Printf("running: %s pid %d, %s pid %d\n", app, work.Pid, sidecar, side.Pid)

	for ev := range sub.C {
		fmt.Printf("event: %s %s", ev.GetKind(), ev.GetName())
		if ev.GetCount() > 0 {
			fmt.Printf(" count %d", ev.GetCount())
		}
		fmt.Println()
		if ev.GetKind() == "oom_kill" && ev.GetName() == app {
			break
		}
	}
	if err := sub.Err(); err != nil {
		return fmt.Errorf("the event stream ended before the OOM kill: %w", err)
	}
	res, err := work.Wait(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s ended: exited %v, signal %d\n", app, res.GetExited(), res.GetSignal())
	st, err := c.Stats(ctx, app, false)
	if err != nil {
		return err
	}
	for _, ctr := range st[0].GetMemoryEvents() {
		if ctr.GetKey() == "oom_kill" {
			fmt.Printf("%s memory.events oom_kill %d, peak %d bytes\n", app, ctr.GetValue(), st[0].GetUsage().GetMemoryPeak())
		}
	}
	// The sidecar is still there, untouched by its sibling's OOM.
	if _, err := c.Detect(ctx, side.Pid); err != nil {
		return fmt.Errorf("the sidecar: %w", err)
	}
	if err := side.Signal(ctx, syscall.SIGTERM); err != nil && !errors.Is(err, lmct.ErrNotFound) {
		return err
	}
	if res, err := side.Wait(ctx); err == nil {
		fmt.Printf("%s ended: signal %d\n", sidecar, res.GetSignal())
	}
	return nil
}
