// Package lmct is a client of lmctld, the lmct container manager, for node
// agents written in Go. It speaks lmctld's protocol (docs/protocol.md in
// lmct's source): size-delimited protobuf messages on a Unix socket, with
// the messages of package lmctpb, generated from proto/lmct.proto.
//
//	c, err := lmct.Dial("")                    // $LMCT_SOCKET or /run/lmct/lmctld.sock
//	err = c.Create(ctx, "containerA/sub1", &lmct.CreateOptions{
//		Parents: true, Limits: &lmctpb.Limits{CpuMillis: proto.Uint64(6000)}})
//	info, err := c.Show(ctx, "containerA/sub1")
//	p, err := c.Run(ctx, "containerA/sub1", []string{"make"}, nil) // with this process's stdio
//	res, err := p.Wait(ctx)
//
// A Client is one connection, safe for concurrent use: calls from many
// goroutines are pipelined on it and their answers matched by id. Every
// call takes a context; when it is done before lmctld answers, the call
// returns ctx.Err() (lmctld still carries the request out). Refusals are
// *Error values carrying lmctld's status code: errors.Is(err,
// lmct.ErrNotFound) and lmct.CodeOf(err) tell them apart.
package lmct

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"syscall"

	"google.golang.org/protobuf/proto"

	pb "lmct.dev/go/lmct/lmctpb"
)

// DefaultSocket is where lmctld listens unless told otherwise.
const DefaultSocket = "/run/lmct/lmctld.sock"

// Max in a numeric limit means "max": no limit.
const Max uint64 = math.MaxUint64

// Error is a request lmctld refused: its status code and the sentence it
// gave.
type Error struct {
	Code    pb.Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Is makes errors.Is(err, ErrNotFound) (and the like) true for every
// refusal with that code, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// One sentinel per status code, for errors.Is.
var (
	ErrInvalidArgument    = &Error{Code: pb.Code_INVALID_ARGUMENT}
	ErrNotFound           = &Error{Code: pb.Code_NOT_FOUND}
	ErrAlreadyExists      = &Error{Code: pb.Code_ALREADY_EXISTS}
	ErrPermissionDenied   = &Error{Code: pb.Code_PERMISSION_DENIED}
	ErrResourceExhausted  = &Error{Code: pb.Code_RESOURCE_EXHAUSTED}
	ErrFailedPrecondition = &Error{Code: pb.Code_FAILED_PRECONDITION}
	ErrUnimplemented      = &Error{Code: pb.Code_UNIMPLEMENTED}
	ErrInternal           = &Error{Code: pb.Code_INTERNAL}
	ErrUnavailable        = &Error{Code: pb.Code_UNAVAILABLE}
)

// CodeOf returns the status code of an *Error in ERR's chain, OK for nil,
// and UNAVAILABLE for any other error (the connection failed).
func CodeOf(err error) pb.Code {
	if err == nil {
		return pb.Code_OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return pb.Code_UNAVAILABLE
}

func statusError(st *pb.Status) error {
	if st.GetCode() == pb.Code_OK {
		return nil
	}
	return &Error{Code: st.GetCode(), Message: st.GetMessage()}
}

// Client is a connection to lmctld.
type Client struct {
	path string
	c    *conn

	mu   sync.Mutex
	subs map[*Subscription]struct{} // ended by Close
}

// SocketPath is PATH, or $LMCT_SOCKET, or DefaultSocket: the first that is
// not empty.
func SocketPath(path string) string {
	if path != "" {
		return path
	}
	if p := os.Getenv("LMCT_SOCKET"); p != "" {
		return p
	}
	return DefaultSocket
}

// Dial connects to lmctld at SocketPath(path).
func Dial(path string) (*Client, error) {
	path = SocketPath(path)
	c, err := dial(path, false)
	if err != nil {
		return nil, err
	}
	return &Client{path: path, c: c, subs: map[*Subscription]struct{}{}}, nil
}

// Close ends the connection and the client's subscriptions; calls still
// waiting return ErrClosed. Commands it started keep running.
func (cl *Client) Close() error {
	cl.mu.Lock()
	subs := cl.subs
	cl.subs = map[*Subscription]struct{}{}
	cl.mu.Unlock()
	for s := range subs {
		s.Close()
	}
	return cl.c.close()
}

// Call sends REQ (its id is set here) and returns lmctld's answer, or an
// *Error when the answer's status is not OK. It is for the requests
// answered once: run, exec and events have methods of their own.
func (cl *Client) Call(ctx context.Context, req *pb.Request) (*pb.Response, error) {
	switch req.GetVerb().(type) {
	case *pb.Request_Run, *pb.Request_Exec, *pb.Request_Events:
		return nil, errors.New("lmct: Call is for requests answered once; use Run, Exec or Events")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, ch, err := cl.c.register(1)
	if err != nil {
		return nil, err
	}
	defer cl.c.unregister(id)
	if err := cl.c.send(ctx, id, req, nil); err != nil {
		return nil, err
	}
	return cl.c.await(ctx, ch)
}

// await waits for one answer on CH.
func (c *conn) await(ctx context.Context, ch chan *pb.Response) (*pb.Response, error) {
	select {
	case resp := <-ch:
		return resp, statusError(resp.GetStatus())
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		// An answer may have come just before the end.
		select {
		case resp := <-ch:
			return resp, statusError(resp.GetStatus())
		default:
		}
		return nil, c.reason()
	}
}

func (cl *Client) do(ctx context.Context, req *pb.Request) error {
	_, err := cl.Call(ctx, req)
	return err
}

// Version asks lmctld who it is: protocol, version, cgroup root,
// controllers.
func (cl *Client) Version(ctx context.Context) (*pb.VersionResult, error) {
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_Version{Version: &pb.VersionRequest{}}})
	return resp.GetVersion(), err
}

// CreateOptions are create's optional parts.
type CreateOptions struct {
	Limits  *pb.Limits
	Parents bool              // create missing parents, unlimited
	Labels  map[string]string // on the named container
	Owner   *Owner            // root only: hand the subtree to this user
}

// Owner is a uid and gid a subtree is handed to.
type Owner struct{ UID, GID uint32 }

func labels(m map[string]string) []*pb.Label {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*pb.Label, len(keys))
	for i, k := range keys {
		out[i] = &pb.Label{Key: proto.String(k), Value: proto.String(m[k])}
	}
	return out
}

// Create makes container NAME; OPTS may be nil.
func (cl *Client) Create(ctx context.Context, name string, opts *CreateOptions) error {
	q := &pb.CreateRequest{Name: proto.String(name)}
	if opts != nil {
		q.Limits = opts.Limits
		if opts.Parents {
			q.Parents = proto.Bool(true)
		}
		q.Labels = labels(opts.Labels)
		if opts.Owner != nil {
			q.OwnerUid = proto.Uint32(opts.Owner.UID)
			q.OwnerGid = proto.Uint32(opts.Owner.GID)
		}
	}
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Create{Create: q}})
}

// UpdateOptions say what update changes: at least one limit or label.
type UpdateOptions struct {
	Limits       *pb.Limits
	Labels       map[string]string // added, or replacing a key's value
	RemoveLabels []string
}

// Update changes NAME's limits and labels.
func (cl *Client) Update(ctx context.Context, name string, opts UpdateOptions) error {
	q := &pb.UpdateRequest{Name: proto.String(name), Limits: opts.Limits,
		Labels: labels(opts.Labels), RemoveLabels: opts.RemoveLabels}
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Update{Update: q}})
}

// DestroyOptions: Recursive also destroys subcontainers; Force kills
// processes first (destroy then answers once they died).
type DestroyOptions struct{ Recursive, Force bool }

// Destroy removes container NAME.
func (cl *Client) Destroy(ctx context.Context, name string, opts DestroyOptions) error {
	q := &pb.DestroyRequest{Name: proto.String(name)}
	if opts.Recursive {
		q.Recursive = proto.Bool(true)
	}
	if opts.Force {
		q.Force = proto.Bool(true)
	}
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Destroy{Destroy: q}})
}

// ListOptions: Recursive lists the whole subtree; Labels keeps the
// containers carrying each key with that value, HasLabels those carrying
// each key with any value.
type ListOptions struct {
	Recursive bool
	Labels    map[string]string
	HasLabels []string
}

// List returns the full names of NAME's subcontainers ("" is the root),
// sorted.
func (cl *Client) List(ctx context.Context, name string, opts ListOptions) ([]string, error) {
	q := &pb.ListRequest{Name: proto.String(name), Selector: labels(opts.Labels)}
	if opts.Recursive {
		q.Recursive = proto.Bool(true)
	}
	for _, k := range opts.HasLabels {
		q.Selector = append(q.Selector, &pb.Label{Key: proto.String(k)})
	}
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_List{List: q}})
	return resp.GetList().GetNames(), err
}

// Show returns NAME's limits (configured and effective), usage, children,
// last run, owner and labels.
func (cl *Client) Show(ctx context.Context, name string) (*pb.ContainerInfo, error) {
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_Show{Show: &pb.ShowRequest{Name: proto.String(name)}}})
	return resp.GetShow(), err
}

// Ps returns the processes in NAME (RECURSIVE: and below), with the
// container of each.
func (cl *Client) Ps(ctx context.Context, name string, recursive bool) ([]*pb.Process, error) {
	q := &pb.PsRequest{Name: proto.String(name)}
	if recursive {
		q.Recursive = proto.Bool(true)
	}
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_Ps{Ps: q}})
	return resp.GetPs().GetProcesses(), err
}

// Enter moves the caller's processes PIDS into NAME.
func (cl *Client) Enter(ctx context.Context, name string, pids ...int32) error {
	q := &pb.EnterRequest{Name: proto.String(name), Pids: pids}
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Enter{Enter: q}})
}

// Pause freezes NAME and its subtree; it returns once they are frozen.
func (cl *Client) Pause(ctx context.Context, name string) error {
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Pause{Pause: &pb.PauseRequest{Name: proto.String(name)}}})
}

// Resume thaws NAME.
func (cl *Client) Resume(ctx context.Context, name string) error {
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Resume{Resume: &pb.ResumeRequest{Name: proto.String(name)}}})
}

// Kill sends SIG to every process in NAME and below.
func (cl *Client) Kill(ctx context.Context, name string, sig syscall.Signal) error {
	q := &pb.KillRequest{Name: proto.String(name), Signal: proto.Int32(int32(sig))}
	return cl.do(ctx, &pb.Request{Verb: &pb.Request_Kill{Kill: q}})
}

// Detect returns the container process PID is in.
func (cl *Client) Detect(ctx context.Context, pid int32) (string, error) {
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_Detect{Detect: &pb.DetectRequest{Pid: proto.Int32(pid)}}})
	return resp.GetDetect().GetName(), err
}

// Reclaim asks the kernel to take BYTES of NAME's memory back now
// (memory.reclaim; at most its usage) and waits while it works. The result
// says how much was asked, whether all of it came back (Complete false:
// the kernel found less to reclaim) and memory.current before and after.
func (cl *Client) Reclaim(ctx context.Context, name string, bytes uint64) (*pb.ReclaimResult, error) {
	q := &pb.ReclaimRequest{Name: proto.String(name), Bytes: proto.Uint64(bytes)}
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_Reclaim{Reclaim: q}})
	return resp.GetReclaim(), err
}

// Stats returns NAME's statistics and (RECURSIVE) those of its subtree, in
// order, in one answer.
func (cl *Client) Stats(ctx context.Context, name string, recursive bool) ([]*pb.Stats, error) {
	q := &pb.StatsRequest{Name: proto.String(name)}
	if recursive {
		q.Recursive = proto.Bool(true)
	}
	resp, err := cl.Call(ctx, &pb.Request{Verb: &pb.Request_Stats{Stats: q}})
	return resp.GetStats().GetStats(), err
}

// LimitsCPU is a Limits with only a CPU bound, in CPUs (6, 0.5), or Max.
func LimitsCPU(cpus float64) *pb.Limits {
	if cpus >= float64(Max) {
		return &pb.Limits{CpuMillis: proto.Uint64(Max)}
	}
	return &pb.Limits{CpuMillis: proto.Uint64(uint64(math.Round(cpus * 1000)))}
}

// errUnexpected names an answer that is not what the request asks for.
func errUnexpected(what string, resp *pb.Response) error {
	return fmt.Errorf("lmct: %s: unexpected answer %v", what, resp)
}
