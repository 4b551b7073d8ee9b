package lmct

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "lmct.dev/go/lmct/lmctpb"
)

// maxAnswer bounds one answer's frame: lmctld sends at most 64 MiB at
// once (root's cap on list, ps and stats), so a longer prefix means the
// stream is not lmctld's.
const maxAnswer = 64<<20 + 4096

// ErrClosed is returned by calls on a connection that was closed, by the
// caller or by lmctld; errors.Is(err, ErrClosed) holds for both.
var ErrClosed = errors.New("lmct: connection closed")

// maxRequest is lmctld's bound on a request frame: a longer one is
// refused with the connection, so it is refused here instead.
const maxRequest = 1 << 20

// conn is one connection to lmctld: frames, ids, and a reader goroutine
// that hands each answer to the call that waits for its id. The reader
// never waits for a caller, except on a connection of a subscription's own
// (stream), where waiting is how a slow reader holds lmctld back.
type conn struct {
	uc     *net.UnixConn
	stream bool

	wsem chan struct{} // one frame at a time on the wire; taken with a context

	mu      sync.Mutex
	nextID  uint64
	waiters map[uint64]chan *pb.Response
	err     error // why the connection ended; set once
	done    chan struct{}
}

func dial(path string, stream bool) (*conn, error) {
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	c := &conn{uc: uc, stream: stream, wsem: make(chan struct{}, 1), nextID: 1,
		waiters: map[uint64]chan *pb.Response{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

// register reserves an id and a channel for its answers, as many as DEPTH:
// 1 for a request answered once, 2 for run and exec (started, ended);
// answers beyond the depth are dropped, except on a stream.
func (c *conn) register(depth int) (uint64, chan *pb.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	id := c.nextID
	c.nextID++
	ch := make(chan *pb.Response, depth)
	c.waiters[id] = ch
	return id, ch, nil
}

func (c *conn) unregister(id uint64) {
	c.mu.Lock()
	delete(c.waiters, id)
	c.mu.Unlock()
}

// send writes REQ under ID, with FILES as SCM_RIGHTS on the frame's first
// byte when there are any. It waits for the wire no longer than CTX
// allows. A frame written in part ends the connection (the stream is out
// of step); one not written at all leaves it usable.
func (c *conn) send(ctx context.Context, id uint64, req *pb.Request, files []*os.File) error {
	req.Id = proto.Uint64(id)
	body, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("lmct: encoding the request: %w", err)
	}
	if len(body) > maxRequest {
		return &Error{Code: pb.Code_INVALID_ARGUMENT,
			Message: fmt.Sprintf("the request is %d bytes, over lmctld's bound of %d", len(body), maxRequest)}
	}
	fds := make([]int, len(files))
	for i, f := range files {
		if f == nil || f.Fd() == ^uintptr(0) {
			return fmt.Errorf("lmct: descriptor %d to pass is nil or closed", i)
		}
		fds[i] = int(f.Fd())
	}
	frame := protowire.AppendVarint(make([]byte, 0, len(body)+protowire.SizeVarint(uint64(len(body)))), uint64(len(body)))
	frame = append(frame, body...)

	select {
	case c.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.reason()
	}
	defer func() { <-c.wsem }()
	// The write gives up when CTX ends: at its deadline, or when a watcher
	// sees it cancelled.
	dl, _ := ctx.Deadline()
	c.uc.SetWriteDeadline(dl)
	if done := ctx.Done(); done != nil { // a context that can end: no watcher for Background
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-done:
				c.uc.SetWriteDeadline(time.Unix(1, 0))
			case <-stop:
			}
		}()
	}

	written := 0
	if len(fds) > 0 {
		n, _, err := c.uc.WriteMsgUnix(frame, unix.UnixRights(fds...), nil)
		runtime.KeepAlive(files)
		written = n
		if err == nil {
			frame = frame[n:]
		} else {
			return c.sendFailed(ctx, written, err)
		}
	}
	if len(frame) > 0 {
		n, err := c.uc.Write(frame)
		written += n
		if err != nil {
			return c.sendFailed(ctx, written, err)
		}
	}
	return nil
}

func (c *conn) sendFailed(ctx context.Context, written int, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if written > 0 {
		c.fail(fmt.Errorf("a request was cut short: %w", err))
	}
	return err
}

func (c *conn) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail ends the connection with ERR (the first reason wins) and wakes
// every waiter; it returns the reason kept.
func (c *conn) fail(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		if !errors.Is(err, ErrClosed) {
			err = &closedError{cause: err}
		}
		c.err = err
		c.uc.Close()
		close(c.done)
	}
	return c.err
}

func (c *conn) close() error {
	c.fail(ErrClosed)
	return nil
}

// readLoop reads answers until the connection ends and delivers each to
// the waiter of its id. An answer with id 0 is lmctld refusing the
// connection or a frame: it ends the connection with that status.
func (c *conn) readLoop() {
	r := bufio.NewReaderSize(c.uc, 64<<10)
	for {
		resp, err := readFrame(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("lmctld closed the connection")
			}
			c.fail(err)
			return
		}
		id := resp.GetId()
		if id == 0 {
			if err = statusError(resp.GetStatus()); err == nil {
				err = errors.New("lmctld sent an answer to no request (id 0)")
			}
			c.fail(err)
			return
		}
		c.mu.Lock()
		ch := c.waiters[id]
		c.mu.Unlock()
		if ch == nil {
			continue // an answer nobody waits for any more (a call given up)
		}
		if !c.stream {
			select {
			case ch <- resp:
			default: // more answers than the request has: not lmctld's
			}
			continue
		}
		select {
		case ch <- resp:
		case <-c.done:
			return
		}
	}
}

// readFrame reads one size-delimited Response.
func readFrame(r *bufio.Reader) (*pb.Response, error) {
	var prefix [binaryMaxVarintLen]byte
	n := 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		prefix[n] = b
		n++
		if b < 0x80 {
			break
		}
		if n == len(prefix) {
			return nil, errors.New("lmctld sent a length prefix over 10 bytes")
		}
	}
	size, m := protowire.ConsumeVarint(prefix[:n])
	if m < 0 {
		return nil, fmt.Errorf("lmctld sent a malformed length prefix: %v", protowire.ParseError(m))
	}
	if size > maxAnswer {
		return nil, fmt.Errorf("lmctld sent a frame of %d bytes, over %d", size, maxAnswer)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	resp := &pb.Response{}
	if err := proto.Unmarshal(body, resp); err != nil {
		return nil, fmt.Errorf("lmctld sent an answer that does not decode: %w", err)
	}
	return resp, nil
}

const binaryMaxVarintLen = 10

// closedError is why a connection ended: errors.Is(err, ErrClosed) holds,
// and the cause (an *Error when lmctld refused the connection) stays
// reachable for errors.Is and errors.As.
type closedError struct{ cause error }

func (e *closedError) Error() string        { return ErrClosed.Error() + ": " + e.cause.Error() }
func (e *closedError) Unwrap() error        { return e.cause }
func (e *closedError) Is(target error) bool { return target == ErrClosed }
