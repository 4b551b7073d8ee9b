package lmct

// Tests against a real lmctld at $LMCT_SOCKET (lmct's integration suite
// runs them in its VM, on real cgroup v2, as root). Without LMCT_SOCKET
// they are skipped; the suite counts a skip there as a failure.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "lmct.dev/go/lmct/lmctpb"
)

func daemon(t *testing.T) (*Client, context.Context, string) {
	t.Helper()
	if os.Getenv("LMCT_SOCKET") == "" {
		t.Skip("LMCT_SOCKET is not set: no lmctld to test against")
	}
	cl, err := Dial("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	top := fmt.Sprintf("go-%s-%d", strings.ToLower(strings.TrimPrefix(t.Name(), "TestDaemon")), os.Getpid())
	t.Cleanup(func() {
		cl.Destroy(context.Background(), top, DestroyOptions{Recursive: true, Force: true})
		cancel()
		cl.Close()
	})
	if err := cl.Create(ctx, top, nil); err != nil {
		t.Fatal(err)
	}
	return cl, ctx, top
}

func TestDaemonVersion(t *testing.T) {
	cl, ctx, _ := daemon(t)
	v, err := cl.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.GetProtocol() != 1 || !strings.Contains(strings.Join(v.GetControllers(), " "), "memory") {
		t.Fatalf("version: %v", v)
	}
}

func TestDaemonCreateShowListErrors(t *testing.T) {
	cl, ctx, top := daemon(t)
	name := top + "/pod/web"
	lim := &pb.Limits{CpuMillis: proto.Uint64(500), MemoryMax: proto.Uint64(64 << 20)}
	err := cl.Create(ctx, name, &CreateOptions{Parents: true, Limits: lim, Labels: map[string]string{"tier": "web", "app": "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Update(ctx, top+"/pod", UpdateOptions{Limits: &pb.Limits{MemoryMax: proto.Uint64(32 << 20)}}); err != nil {
		t.Fatal(err)
	}
	info, err := cl.Show(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetEffective().GetCpuMillis() != 500 || info.GetEffective().GetMemoryMax() != 32<<20 {
		t.Errorf("effective limits %v: want cpu 500 and the parent's 32 MiB", info.GetEffective())
	}
	if len(info.GetLabels()) != 2 || info.GetLabels()[0].GetKey() != "app" {
		t.Errorf("labels %v: want app and tier, sorted", info.GetLabels())
	}
	names, err := cl.List(ctx, top, ListOptions{Recursive: true, Labels: map[string]string{"tier": "web"}})
	if err != nil || len(names) != 1 || names[0] != name {
		t.Errorf("list by label: %v %v, want [%s]", names, err, name)
	}
	names, err = cl.List(ctx, top, ListOptions{Recursive: true, HasLabels: []string{"tier"}})
	if err != nil || len(names) != 1 {
		t.Errorf("list by key: %v %v", names, err)
	}

	for _, c := range []struct {
		what string
		err  error
		want error
	}{
		{"create again", cl.Create(ctx, name, nil), ErrAlreadyExists},
		{"destroy a missing container", cl.Destroy(ctx, top+"/nothing", DestroyOptions{}), ErrNotFound},
		{"a bad name", cl.Create(ctx, top+"/../etc", nil), ErrInvalidArgument},
		{"destroy with subcontainers", cl.Destroy(ctx, top+"/pod", DestroyOptions{}), ErrFailedPrecondition},
	} {
		var e *Error
		if !errors.Is(c.err, c.want) || !errors.As(c.err, &e) || e.Message == "" {
			t.Errorf("%s: %v, want %v with lmctld's sentence", c.what, c.err, c.want.(*Error).Code)
		}
	}
	if err := cl.Destroy(ctx, top+"/pod", DestroyOptions{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Show(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("show after destroy: %v", err)
	}
}

// The command gets the descriptors given: its output comes through a
// pipe; its exit code comes back.
func TestDaemonRunStdio(t *testing.T) {
	cl, ctx, top := daemon(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := cl.Run(ctx, top, []string{"sh", "-c", "echo hello from $0; exit 7", "lmct"},
		&RunOptions{Stdio: &Stdio{Stdout: w}})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	res, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "hello from lmct" || !res.GetExited() || res.GetExitCode() != 7 {
		t.Fatalf("output %q, result %v: want the greeting and exit 7", out, res)
	}
	p, err = cl.Run(ctx, top, []string{"/no/such/program"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.Wait(ctx)
	if err != nil || res.GetExitCode() != 127 || p.Started.GetError() == "" {
		t.Fatalf("a missing program: %v %v, want 127 and why", res, err)
	}
}

// A Wait past its deadline returns and can be called again; the command
// is where lmctld says (detect, ps); Signal ends it.
func TestDaemonSignalDeadlineDetect(t *testing.T) {
	cl, ctx, top := daemon(t)
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	p, err := cl.Run(ctx, top, []string{"sleep", "60"}, &RunOptions{Stdio: &Stdio{null, null, null}})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = p.Wait(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past the deadline: %v", err)
	}
	if name, err := cl.Detect(ctx, p.Pid); err != nil || name != top {
		t.Errorf("detect %d: %q %v, want %s", p.Pid, name, err, top)
	}
	procs, err := cl.Ps(ctx, top, false)
	if err != nil || len(procs) != 1 || procs[0].GetPid() != p.Pid {
		t.Errorf("ps: %v %v, want only %d", procs, err, p.Pid)
	}
	if err := p.Signal(ctx, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res, err := p.Wait(ctx)
	if err != nil || res.GetSignal() != int32(syscall.SIGTERM) {
		t.Fatalf("after SIGTERM: %v %v", res, err)
	}
}

// Many goroutines share one connection; every answer reaches its caller.
func TestDaemonPipelining(t *testing.T) {
	cl, ctx, top := daemon(t)
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			name := fmt.Sprintf("%s/w%d", top, w)
			if err := cl.Create(ctx, name, &CreateOptions{Labels: map[string]string{"w": fmt.Sprint(w)}}); err != nil {
				errs <- err
				return
			}
			for i := 0; i < each; i++ {
				info, err := cl.Show(ctx, name)
				if err == nil && (info.GetName() != name || info.GetLabels()[0].GetValue() != fmt.Sprint(w)) {
					err = fmt.Errorf("show %s answered for %s %v", name, info.GetName(), info.GetLabels())
				}
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
		n++
	}
	if n != workers*each {
		t.Fatalf("%d answers, want %d", n, workers*each)
	}
	names, err := cl.List(ctx, top, ListOptions{})
	if err != nil || len(names) != workers {
		t.Fatalf("list: %d names %v, want %d", len(names), err, workers)
	}
}

// The CPU limit holds: a busy loop in a container capped at 0.2 CPU gets
// about a fifth of the time that passes.
func TestDaemonCPULimitThrottles(t *testing.T) {
	cl, ctx, top := daemon(t)
	name := top + "/busy"
	if err := cl.Create(ctx, name, &CreateOptions{Limits: LimitsCPU(0.2)}); err != nil {
		t.Fatal(err)
	}
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	p, err := cl.Run(ctx, name, []string{"sh", "-c", "while :; do :; done"}, &RunOptions{Stdio: &Stdio{null, null, null}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := cl.Stats(ctx, name, false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(2 * time.Second)
	after, err := cl.Stats(ctx, name, false)
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	p.Signal(ctx, syscall.SIGKILL)
	p.Wait(ctx)
	used := after[0].GetUsage().GetCpuUsageUs() - before[0].GetUsage().GetCpuUsageUs()
	share := float64(used) / float64(wall.Microseconds())
	throttled := after[0].GetUsage().GetCpuNrThrottled()
	t.Logf("CPU share %.3f over %v, throttled %d times", share, wall, throttled)
	if share < 0.05 || share > 0.3 || throttled == 0 {
		t.Fatalf("CPU share %.3f (throttled %d times), want about 0.2 and throttling", share, throttled)
	}
}

// Reclaim answers with what was asked and the usage around it, and a
// size under a page is refused as INVALID_ARGUMENT.
func TestDaemonReclaim(t *testing.T) {
	cl, ctx, top := daemon(t)
	name := top + "/r"
	if err := cl.Create(ctx, name, &CreateOptions{Limits: &pb.Limits{MemoryMax: proto.Uint64(64 << 20)}}); err != nil {
		t.Fatal(err)
	}
	res, err := cl.Reclaim(ctx, name, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requested == nil || res.GetRequested() > res.GetMemoryBefore() || res.GetComplete() || res.MemoryAfter == nil {
		t.Fatalf("reclaim of 1 GiB from an idle container: %v", res)
	}
	if _, err := cl.Reclaim(ctx, name, 100); CodeOf(err) != pb.Code_INVALID_ARGUMENT {
		t.Fatalf("reclaim of 100 bytes: %v, want INVALID_ARGUMENT", err)
	}
}

// Events arrive on the channel: lmctld's own changes and the kernel's
// populated and empty.
func TestDaemonEvents(t *testing.T) {
	cl, ctx, top := daemon(t)
	sub, err := cl.Events(ctx, top, &EventsOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	name := top + "/job"
	if err := cl.Create(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	p, err := cl.Run(ctx, name, []string{"sleep", "0.2"}, &RunOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, ErrDetached) {
		t.Errorf("wait on a detached command: %v", err)
	}
	want := []string{"created", "populated", "empty"}
	deadline := time.After(20 * time.Second)
	for len(want) > 0 {
		select {
		case ev, open := <-sub.C:
			if !open {
				t.Fatalf("the stream ended: %v", sub.Err())
			}
			if ev.GetName() == name && ev.GetKind() == want[0] {
				want = want[1:]
			}
		case <-deadline:
			t.Fatalf("no %v event in 20 s", want)
		}
	}
	sub.Close()
	if _, open := <-sub.C; open || !errors.Is(sub.Err(), context.Canceled) {
		t.Fatalf("after Close: channel open %v, Err %v", open, sub.Err())
	}
	if _, err := cl.Events(ctx, top, &EventsOptions{Pressure: []*pb.PressureTrigger{{Resource: proto.String("disk")}}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a trigger on no resource: %v, want INVALID_ARGUMENT", err)
	}
}
