package pluginwire

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/swcli/swcli/core/store"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// The raw channel carries the bytes of a store's Get and Put on a Unix
// socket of the plugin's, beside the gRPC connection: each chunk crosses as
// a five-byte header and the bytes, written with one writev and read
// straight into the reader's buffer, where gRPC marshals every chunk into a
// protobuf message, frames it in HTTP/2 and copies it on both ends (through
// gRPC a Get reached about 0.4x of the store's speed in process, measured
// here). The plugin declares it with the capability "raw-bytes" and serves
// it on OpenRawChannel; a host uses it when offered and otherwise, or when
// the socket cannot be reached, the gRPC streams, which every plugin keeps
// serving (an already-built plugin or host sees no change).
//
// The socket lives in a folder made by os.MkdirTemp (mode 0700), so only
// the plugin's user can connect, and every connection must first present
// the 32 random bytes OpenRawChannel gave the host: a process of the same
// user that did not get them from the host is turned away.
//
// Framing, written here by hand (no kept library frames a byte stream this
// simply; go-plugin's broker only hands out gRPC connections): every frame
// is a type byte, a big-endian uint32 length and that many bytes. One
// connection carries one call:
//
//	Get: host  Q(RawRequest{token, get})
//	     plugin S(RawStatus: open result, Info) then D(bytes)... then S(end)
//	Put: host  Q(RawRequest{token, put}) D(bytes)... E
//	     plugin S(RawStatus: result)
//
// A Put whose E never comes (the host's reader failed, the host died) is
// aborted by the plugin's store, as a canceled gRPC Put is. A plugin that
// ends a Put early (a lost condition) sends its S and closes; the host's
// next write fails and it reads that S. Closing the connection cancels the
// call on either side.
const (
	frameRequest = 'Q'
	frameData    = 'D'
	frameEnd     = 'E'
	frameStatus  = 'S'

	// maxControl bounds a Q or S frame, maxFrame a D frame: a peer that
	// sends more is broken, not a reason to allocate.
	maxControl = 1 << 20
	maxFrame   = 4 << 20
	// rawRequestTimeout is how long a new connection has to present its
	// request.
	rawRequestTimeout = 10 * time.Second
	tokenSize         = 32
)

// sockBuffer is the socket buffer asked for on both ends: a few chunks in
// flight, so that a writer and its reader do not wake each other for every
// 200 KiB (the default). The kernel caps it (net.core.wmem_max).
const sockBuffer = 4 << 20

func sockBuffers(c net.Conn) {
	if uc, ok := c.(*net.UnixConn); ok {
		_ = uc.SetWriteBuffer(sockBuffer)
		_ = uc.SetReadBuffer(sockBuffer)
	}
}

// errFraming is a peer breaking the framing above.
var errFraming = errors.New("raw channel: bad frame")

func writeFrame(w io.Writer, typ byte, data []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(data)))
	if len(data) == 0 {
		_, err := w.Write(hdr[:])
		return err
	}
	bufs := net.Buffers{hdr[:], data}
	_, err := bufs.WriteTo(w) // one writev on a socket
	return err
}

func writeControl(w io.Writer, typ byte, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return writeFrame(w, typ, b)
}

// frameReader reads frames from a connection. The bytes of D frames are
// read straight into the caller's buffer (bufio passes large reads through).
type frameReader struct {
	r    *bufio.Reader
	left int // bytes of the current D frame not read yet
}

func newFrameReader(c net.Conn) *frameReader { return &frameReader{r: bufio.NewReaderSize(c, 64<<10)} }

// next reads the next frame header; for a control frame also its body.
func (f *frameReader) next() (typ byte, body []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[1:]))
	switch hdr[0] {
	case frameData:
		if n > maxFrame {
			return 0, nil, errFraming
		}
		f.left = n
		return frameData, nil, nil
	case frameEnd:
		if n != 0 {
			return 0, nil, errFraming
		}
		return frameEnd, nil, nil
	case frameRequest, frameStatus:
		if n > maxControl {
			return 0, nil, errFraming
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(f.r, body); err != nil {
			return 0, nil, noEOF(err)
		}
		return hdr[0], body, nil
	}
	return 0, nil, errFraming
}

// data reads from the current D frame into p.
func (f *frameReader) data(p []byte) (int, error) {
	n, err := f.r.Read(p[:min(len(p), f.left)])
	f.left -= n
	if err != nil && f.left > 0 {
		err = noEOF(err)
	} else if err == io.EOF {
		err = nil // the next header read reports it
	}
	return n, err
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// statusPB is the RawStatus of err (nil: OK), mapped as the gRPC calls map
// it (storeStatus), so both paths give the host the same typed errors.
func statusPB(err error, info *pb.StatResponse) *pb.RawStatus {
	st, _ := status.FromError(storeStatus(err))
	return &pb.RawStatus{Code: int32(st.Code()), Message: st.Message(), Info: info}
}

// --- plugin side ---

// rawServer serves one store on a raw channel, opened on first request.
type rawServer struct {
	s     store.Store
	once  sync.Once
	ch    *pb.RawChannel
	err   error
	l     net.Listener
	dir   string
	token []byte
}

// open makes the socket (once) and returns where it is.
func (r *rawServer) open() (*pb.RawChannel, error) {
	r.once.Do(func() {
		r.err = r.listen()
		if r.err == nil {
			openRaw.add(r)
			go r.serve()
		}
	})
	return r.ch, r.err
}

func (r *rawServer) listen() error {
	dir, err := os.MkdirTemp("", "swcli-store-") // mode 0700
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, "raw.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	token := make([]byte, tokenSize)
	if _, err := rand.Read(token); err != nil {
		l.Close()
		os.RemoveAll(dir)
		return err
	}
	r.l, r.dir, r.token = l, dir, token
	r.ch = &pb.RawChannel{Network: "unix", Address: sock, Token: token}
	return nil
}

// close stops serving and removes the socket's folder. A later
// OpenRawChannel fails (the host keeps to gRPC).
func (r *rawServer) close() {
	r.once.Do(func() { r.err = errors.New("closed") })
	if r.l != nil {
		r.l.Close()
		os.RemoveAll(r.dir)
	}
}

func (r *rawServer) serve() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return // closed
		}
		go r.handle(c)
	}
}

func (r *rawServer) handle(c net.Conn) {
	defer c.Close()
	sockBuffers(c)
	fr := newFrameReader(c)
	_ = c.SetReadDeadline(time.Now().Add(rawRequestTimeout))
	typ, body, err := fr.next()
	if err != nil || typ != frameRequest {
		return
	}
	var req pb.RawRequest
	if proto.Unmarshal(body, &req) != nil || subtle.ConstantTimeCompare(req.Token, r.token) != 1 {
		return // not our host: say nothing
	}
	_ = c.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	switch {
	case req.Get != nil:
		// The host sends nothing more: its closing the connection (done
		// reading, canceled) cancels the store's Get.
		go watchClose(c, cancel)
		r.get(ctx, c, req.Get)
	case req.Put != nil:
		r.put(ctx, cancel, c, fr, req.Put)
	}
}

// watchClose cancels when the peer closes c (or c is closed here).
func watchClose(c net.Conn, cancel context.CancelFunc) {
	var b [1]byte
	_, _ = c.Read(b[:])
	cancel()
}

func (r *rawServer) get(ctx context.Context, c net.Conn, req *pb.GetRequest) {
	rc, info, err := openGet(ctx, r.s, req)
	if err != nil {
		_ = writeControl(c, frameStatus, statusPB(err, nil))
		return
	}
	defer rc.Close()
	if writeControl(c, frameStatus, statusPB(nil, info)) != nil {
		return
	}
	var sendErr error
	err = pump(rc, func(b []byte) error {
		sendErr = writeFrame(c, frameData, b)
		return sendErr
	})
	if sendErr == nil {
		_ = writeControl(c, frameStatus, statusPB(err, nil))
	}
}

// putBody is the value of a raw Put: the D frames until E.
type putBody struct {
	fr     *frameReader
	c      net.Conn
	cancel context.CancelFunc
	done   bool
}

func (b *putBody) Read(p []byte) (int, error) {
	for b.fr.left == 0 {
		if b.done {
			return 0, io.EOF
		}
		typ, _, err := b.fr.next()
		if err != nil {
			return 0, noEOF(err) // the host went away mid-value: abort
		}
		switch typ {
		case frameData:
		case frameEnd:
			b.done = true
			// From here on the host only waits for the status: its
			// closing the connection cancels the store's Put.
			go watchClose(b.c, b.cancel)
			return 0, io.EOF
		default:
			return 0, errFraming
		}
	}
	return b.fr.data(p)
}

func (r *rawServer) put(ctx context.Context, cancel context.CancelFunc, c net.Conn, fr *frameReader, req *pb.PutRequest) {
	body := &putBody{fr: fr, c: c, cancel: cancel}
	err := putOf(ctx, r.s, req, body)
	if err == nil && !body.done {
		// The store returned without reading to the end: not a Put of
		// the whole value.
		err = fmt.Errorf("store put %s returned before the end of the value", req.Key)
	}
	_ = writeControl(c, frameStatus, statusPB(err, nil))
}

// openRaw are the raw channels this process serves, closed (their folders
// removed) when the plugin stops: see CloseRawChannels.
var openRaw rawSet

type rawSet struct {
	mu sync.Mutex
	rs []*rawServer
}

func (s *rawSet) add(r *rawServer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rs = append(s.rs, r)
}

// CloseRawChannels stops every raw channel this process serves and removes
// its socket's folder. The sdk calls it when the plugin stops.
func CloseRawChannels() {
	openRaw.mu.Lock()
	defer openRaw.mu.Unlock()
	for _, r := range openRaw.rs {
		r.close()
	}
	openRaw.rs = nil
}

// --- host side ---

// rawClient is the host's end of a plugin's raw channel.
type rawClient struct {
	network, address string
	token            []byte
}

// dial opens a connection for one call and sends its request; closing ctx
// closes the connection. stop releases that hook (call it when done).
func (rc *rawClient) dial(ctx context.Context, req *pb.RawRequest) (net.Conn, func() bool, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, rc.network, rc.address)
	if err != nil {
		return nil, nil, err
	}
	sockBuffers(c)
	req.Token = rc.token
	if err := writeControl(c, frameRequest, req); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, context.AfterFunc(ctx, func() { c.Close() }), nil
}

// lost is the error of a raw connection that broke without a status: the
// context's, or a lost plugin.
func lost(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &ConnectionError{Err: fmt.Errorf("raw channel: %w", err)}
}

// readStatus reads the S frame that must come next.
func readStatus(fr *frameReader) (*pb.RawStatus, error) {
	typ, body, err := fr.next()
	if err != nil {
		return nil, noEOF(err)
	}
	if typ != frameStatus {
		return nil, errFraming
	}
	var st pb.RawStatus
	if err := proto.Unmarshal(body, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func statusErr(st *pb.RawStatus, key string) error {
	if codes.Code(st.Code) == codes.OK {
		return nil
	}
	return storeErr(status.Error(codes.Code(st.Code), st.Message), key)
}

// get reads the answer to a Get request sent on c (dial).
func (rc *rawClient) get(ctx context.Context, c net.Conn, stop func() bool, req *pb.GetRequest) (io.ReadCloser, *pb.StatResponse, error) {
	fr := newFrameReader(c)
	st, err := readStatus(fr)
	if err == nil {
		err = statusErr(st, req.Key)
	} else {
		err = lost(ctx, err)
	}
	if err != nil {
		stop()
		c.Close()
		return nil, nil, err
	}
	return &rawGetReader{ctx: ctx, c: c, fr: fr, stop: stop, key: req.Key}, st.Info, nil
}

// rawGetReader reads the D frames of a Get until its closing S.
type rawGetReader struct {
	ctx  context.Context
	c    net.Conn
	fr   *frameReader
	stop func() bool
	key  string
	err  error // sticky: the end (io.EOF) or the failure
}

func (r *rawGetReader) Read(p []byte) (int, error) {
	for r.err == nil && r.fr.left == 0 {
		typ, body, err := r.fr.next()
		switch {
		case err != nil:
			r.err = lost(r.ctx, noEOF(err))
		case typ == frameData:
		case typ == frameStatus:
			var st pb.RawStatus
			if err := proto.Unmarshal(body, &st); err != nil {
				r.err = lost(r.ctx, err)
			} else if r.err = statusErr(&st, r.key); r.err == nil {
				r.err = io.EOF
			}
		default:
			r.err = lost(r.ctx, errFraming)
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.fr.data(p)
	if err != nil {
		r.err = lost(r.ctx, err)
	}
	return n, nil
}

func (r *rawGetReader) Close() error {
	r.stop()
	return r.c.Close()
}

// put sends r as the value of a Put request sent on c (dial).
func (rc *rawClient) put(ctx context.Context, c net.Conn, stop func() bool, key string, r io.Reader) error {
	defer stop()
	defer c.Close()
	buf := make([]byte, ChunkSize)
	var werr error
	for werr == nil {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			werr = writeFrame(c, frameData, buf[:n])
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			if werr == nil {
				werr = writeFrame(c, frameEnd, nil)
			}
			break
		}
		if rerr != nil {
			// Ending the value without E makes the plugin's Put abort,
			// leaving the old value. Half-closed, the connection still
			// brings the plugin's status once the abort is done, so
			// nothing of this Put is left in the store (an S3 multipart
			// upload) when it returns; closed, the abort would run on
			// after it.
			if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				_, _ = readStatus(newFrameReader(c))
			}
			return rerr
		}
	}
	// After a failed write the plugin may have ended the call early (a
	// lost condition): its status says why.
	st, err := readStatus(newFrameReader(c))
	if err != nil {
		if werr != nil {
			err = werr
		}
		return lost(ctx, err)
	}
	return statusErr(st, key)
}
