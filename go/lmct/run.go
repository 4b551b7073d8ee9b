package lmct

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	pb "lmct.dev/go/lmct/lmctpb"
)

// Stdio are the descriptors a command gets as its stdin, stdout and
// stderr. A nil field is this process's own (os.Stdin, ...).
type Stdio struct{ Stdin, Stdout, Stderr *os.File }

func (s *Stdio) files() []*os.File {
	var in Stdio
	if s != nil {
		in = *s
	}
	if in.Stdin == nil {
		in.Stdin = os.Stdin
	}
	if in.Stdout == nil {
		in.Stdout = os.Stdout
	}
	if in.Stderr == nil {
		in.Stderr = os.Stderr
	}
	return []*os.File{in.Stdin, in.Stdout, in.Stderr}
}

// RunOptions are run's optional parts. Privileged ones (Rootfs, Bundle,
// Isolate, Hostname, another UID) need a caller that is root outside every
// container.
type RunOptions struct {
	Stdio    *Stdio     // ignored with Detach
	Detach   bool       // answer at once; the output goes to the journal or a log file
	Remove   bool       // create NAME for this command and remove it when it ends
	Limits   *pb.Limits // for the container Remove creates (or an update of NAME)
	Env      []string   // K=V; the command gets only these and a default PATH
	Cwd      string     // default "/"
	UID, GID *uint32
	Isolate  *pb.Isolation
	Hostname string
	Rootfs   string
	Bundle   string // an OCI runtime bundle directory
}

// ExecOptions are exec's optional parts.
type ExecOptions struct {
	Stdio *Stdio
	Env   []string
	Cwd   string
}

// Process is a command lmctld started. Its answers come on the Client's
// connection; closing the Client gives up waiting, not the command.
type Process struct {
	Pid      int32         // as lmctld's pid namespace sees it
	Started  *pb.RunResult // the first answer (with LogPath when detached)
	Detached bool

	cl     *Client
	id     uint64
	ch     chan *pb.Response
	mu     sync.Mutex // one Wait at a time
	result *pb.RunResult
}

// Run runs ARGS in container NAME and returns once the command runs (or
// could not be executed: then Wait returns at once, exit code 126 or 127
// and Started.Error saying why). When CTX ends before that, Run returns
// ctx.Err(), and a command that starts all the same is killed.
func (cl *Client) Run(ctx context.Context, name string, args []string, opts *RunOptions) (*Process, error) {
	q := &pb.RunRequest{Name: proto.String(name), Args: args}
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	q.Env, q.Limits, q.Uid, q.Gid, q.Isolate = o.Env, o.Limits, o.UID, o.GID, o.Isolate
	if o.Cwd != "" {
		q.Cwd = proto.String(o.Cwd)
	}
	if o.Hostname != "" {
		q.Hostname = proto.String(o.Hostname)
	}
	if o.Rootfs != "" {
		q.Rootfs = proto.String(o.Rootfs)
	}
	if o.Bundle != "" {
		q.Bundle = proto.String(o.Bundle)
	}
	if o.Remove {
		q.Remove = proto.Bool(true)
	}
	var files []*os.File
	if o.Detach {
		q.Detach = proto.Bool(true)
	} else {
		files = o.Stdio.files()
	}
	return cl.start(ctx, &pb.Request{Verb: &pb.Request_Run{Run: q}}, files, o.Detach)
}

// Exec runs ARGS beside the running command of container NAME: same
// cgroup, same namespaces.
func (cl *Client) Exec(ctx context.Context, name string, args []string, opts *ExecOptions) (*Process, error) {
	q := &pb.ExecRequest{Name: proto.String(name), Args: args}
	var o ExecOptions
	if opts != nil {
		o = *opts
	}
	q.Env = o.Env
	if o.Cwd != "" {
		q.Cwd = proto.String(o.Cwd)
	}
	return cl.start(ctx, &pb.Request{Verb: &pb.Request_Exec{Exec: q}}, o.Stdio.files(), false)
}

func (cl *Client) start(ctx context.Context, req *pb.Request, files []*os.File, detach bool) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, ch, err := cl.c.register(2)
	if err != nil {
		return nil, err
	}
	if err := cl.c.send(ctx, id, req, files); err != nil {
		cl.c.unregister(id)
		return nil, err
	}
	resp, err := cl.c.await(ctx, ch)
	if ctx.Err() != nil && resp == nil {
		// Given up before the first answer: a command that starts anyway
		// is killed, and its answers are collected, off the caller's path.
		go cl.abandon(id, ch, detach)
		return nil, err
	}
	if err == nil && resp.GetRun() == nil {
		err = errUnexpected("run", resp)
	}
	if err != nil {
		cl.c.unregister(id)
		return nil, err
	}
	p := &Process{Pid: resp.GetRun().GetPid(), Started: resp.GetRun(), Detached: detach, cl: cl, id: id, ch: ch}
	if detach || p.Started.GetExited() {
		cl.c.unregister(id)
		if !detach {
			p.result = p.Started
		}
	}
	return p, nil
}

// abandon waits for the first answer of run ID that its caller gave up
// on, kills the command if it started (and is not detached: lmctld's
// signal reaches only commands it waits for), and waits for its end.
func (cl *Client) abandon(id uint64, ch chan *pb.Response, detach bool) {
	defer cl.c.unregister(id)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := cl.c.await(ctx, ch)
	if err != nil || detach || resp.GetRun().GetExited() {
		return
	}
	if cl.do(ctx, &pb.Request{Verb: &pb.Request_Signal{Signal: &pb.SignalRequest{
		RunId: proto.Uint64(id), Signal: proto.Int32(int32(syscall.SIGKILL))}}}) == nil {
		cl.c.await(ctx, ch)
	}
}

// ErrDetached is Wait's answer for a detached command: lmctld does not
// report its end to the caller.
var ErrDetached = errors.New("lmct: a detached command is not waited for")

// Wait returns how the command ended: Exited, and ExitCode or Signal. When
// CTX is done first it returns ctx.Err() and may be called again. Calls
// from several goroutines take turns.
func (p *Process) Wait(ctx context.Context) (*pb.RunResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.result != nil {
		return p.result, nil
	}
	if p.Detached {
		return nil, ErrDetached
	}
	resp, err := p.cl.c.await(ctx, p.ch)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	p.cl.c.unregister(p.id)
	if err != nil {
		return nil, err
	}
	if resp.GetRun() == nil {
		return nil, errUnexpected("run", resp)
	}
	p.result = resp.GetRun()
	return p.result, nil
}

// Signal sends SIG to the command (not to the rest of its container).
func (p *Process) Signal(ctx context.Context, sig syscall.Signal) error {
	q := &pb.SignalRequest{RunId: proto.Uint64(p.id), Signal: proto.Int32(int32(sig))}
	return p.cl.do(ctx, &pb.Request{Verb: &pb.Request_Signal{Signal: q}})
}
