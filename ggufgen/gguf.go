package ggufgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// GGUF container constants (see ggml/include/gguf.h).
const (
	ggufMagic   = "GGUF"
	ggufVersion = 3
	// Alignment is the data alignment this package writes (and records in
	// general.alignment). It equals GGUF_DEFAULT_ALIGNMENT.
	Alignment = 32
)

// GGUF metadata value type ids (enum gguf_type).
const (
	gtUint8   uint32 = 0
	gtInt8    uint32 = 1
	gtUint16  uint32 = 2
	gtInt16   uint32 = 3
	gtUint32  uint32 = 4
	gtInt32   uint32 = 5
	gtFloat32 uint32 = 6
	gtBool    uint32 = 7
	gtString  uint32 = 8
	gtArray   uint32 = 9
	gtUint64  uint32 = 10
	gtInt64   uint32 = 11
	gtFloat64 uint32 = 12
)

// KV is one GGUF metadata key/value pair. Value holds the Go type matching
// the GGUF type exactly: uint8, int8, uint16, int16, uint32, int32, float32,
// bool, string, uint64, int64, float64, or a slice of one of those for GGUF
// arrays. (Plain int is deliberately not accepted when writing: llama.cpp
// checks value types strictly, so the width must be explicit.)
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor of a GGUF file as stored in its header.
type TensorInfo struct {
	Name   string
	Dims   []int64 // ne0 first (ne0 is the contiguous dimension)
	Type   TensorType
	Offset uint64 // relative to the start of the data section
}

// Elements is the number of elements of the tensor.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Size is the number of data bytes of the tensor (without alignment padding),
// or -1 when the tensor type is unknown to this package.
func (t TensorInfo) Size() int64 {
	if !t.Type.valid() {
		return -1
	}
	return t.Type.rowSize(t.Elements())
}

// Header is the parsed header of a GGUF file: everything before the tensor
// data.
type Header struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // absolute file offset of the data section
}

// Get returns the value of key and whether it exists.
func (h *Header) Get(key string) (any, bool) {
	for _, kv := range h.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// ReadHeaderFile reads the GGUF header of the file at path.
func ReadHeaderFile(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ReadHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// ReadHeader parses a GGUF (v2 or v3, little endian) header from r. It reads
// exactly up to the end of the tensor infos (not the alignment padding).
func ReadHeader(r io.Reader) (*Header, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 1<<16)}
	magic := d.bytes(4)
	if d.err != nil {
		return nil, fmt.Errorf("gguf: reading magic: %w", d.err)
	}
	if string(magic) != ggufMagic {
		return nil, fmt.Errorf("gguf: bad magic %q", magic)
	}
	h := &Header{Version: d.u32(), Alignment: Alignment}
	if d.err == nil && (h.Version < 2 || h.Version > ggufVersion) {
		return nil, fmt.Errorf("gguf: unsupported version %d", h.Version)
	}
	nTensors := d.u64()
	nKV := d.u64()
	if d.err != nil {
		return nil, fmt.Errorf("gguf: reading header: %w", d.err)
	}
	if nTensors > 1<<24 || nKV > 1<<24 {
		return nil, fmt.Errorf("gguf: implausible counts (%d tensors, %d kv)", nTensors, nKV)
	}
	seen := make(map[string]bool, nKV)
	for i := uint64(0); i < nKV; i++ {
		key := d.str()
		typ := d.u32()
		v := d.value(typ)
		if d.err != nil {
			return nil, fmt.Errorf("gguf: reading kv %d (%q): %w", i, key, d.err)
		}
		if seen[key] {
			return nil, fmt.Errorf("gguf: duplicate key %q", key)
		}
		seen[key] = true
		h.KV = append(h.KV, KV{Key: key, Value: v})
		if key == "general.alignment" {
			a, ok := v.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return nil, fmt.Errorf("gguf: bad general.alignment %v (%T)", v, v)
			}
			h.Alignment = uint64(a)
		}
	}
	for i := uint64(0); i < nTensors; i++ {
		var ti TensorInfo
		ti.Name = d.str()
		nd := d.u32()
		if d.err == nil && nd > 4 {
			return nil, fmt.Errorf("gguf: tensor %q has %d dims", ti.Name, nd)
		}
		for j := uint32(0); j < nd && d.err == nil; j++ {
			ti.Dims = append(ti.Dims, int64(d.u64()))
		}
		ti.Type = TensorType(d.u32())
		ti.Offset = d.u64()
		if d.err != nil {
			return nil, fmt.Errorf("gguf: reading tensor info %d: %w", i, d.err)
		}
		h.Tensors = append(h.Tensors, ti)
	}
	h.DataOffset = alignUp(d.n, int64(h.Alignment))
	return h, nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

type decoder struct {
	r   *bufio.Reader
	n   int64
	err error
	b   [8]byte
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	var p []byte
	if n <= len(d.b) {
		p = d.b[:n]
	} else {
		p = make([]byte, n)
	}
	k, err := io.ReadFull(d.r, p)
	d.n += int64(k)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
		return nil
	}
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if p := d.bytes(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.bytes(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if p := d.bytes(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) str() string {
	n := d.u64()
	if d.err != nil {
		return ""
	}
	if n > 1<<30 {
		d.err = fmt.Errorf("string length %d too large", n)
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *decoder) value(typ uint32) any {
	switch typ {
	case gtUint8:
		return d.u8()
	case gtInt8:
		return int8(d.u8())
	case gtUint16:
		return d.u16()
	case gtInt16:
		return int16(d.u16())
	case gtUint32:
		return d.u32()
	case gtInt32:
		return int32(d.u32())
	case gtFloat32:
		return math.Float32frombits(d.u32())
	case gtBool:
		return d.u8() != 0
	case gtString:
		return d.str()
	case gtUint64:
		return d.u64()
	case gtInt64:
		return int64(d.u64())
	case gtFloat64:
		return math.Float64frombits(d.u64())
	case gtArray:
		et := d.u32()
		n := d.u64()
		if d.err != nil {
			return nil
		}
		if n > 1<<28 {
			d.err = fmt.Errorf("array length %d too large", n)
			return nil
		}
		return d.array(et, int(n))
	}
	if d.err == nil {
		d.err = fmt.Errorf("unknown gguf value type %d", typ)
	}
	return nil
}

func readArr[T any](d *decoder, n int, f func() T) []T {
	out := make([]T, 0, min(n, 1<<16))
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, f())
	}
	return out
}

func (d *decoder) array(et uint32, n int) any {
	switch et {
	case gtUint8:
		return readArr(d, n, d.u8)
	case gtInt8:
		return readArr(d, n, func() int8 { return int8(d.u8()) })
	case gtUint16:
		return readArr(d, n, d.u16)
	case gtInt16:
		return readArr(d, n, func() int16 { return int16(d.u16()) })
	case gtUint32:
		return readArr(d, n, d.u32)
	case gtInt32:
		return readArr(d, n, func() int32 { return int32(d.u32()) })
	case gtFloat32:
		return readArr(d, n, func() float32 { return math.Float32frombits(d.u32()) })
	case gtBool:
		return readArr(d, n, func() bool { return d.u8() != 0 })
	case gtString:
		return readArr(d, n, d.str)
	case gtUint64:
		return readArr(d, n, d.u64)
	case gtInt64:
		return readArr(d, n, func() int64 { return int64(d.u64()) })
	case gtFloat64:
		return readArr(d, n, func() float64 { return math.Float64frombits(d.u64()) })
	}
	d.err = fmt.Errorf("unsupported gguf array element type %d", et)
	return nil
}

// encoder writes little-endian GGUF primitives, remembering the first error
// and the number of bytes written.
type encoder struct {
	w   io.Writer
	n   int64
	err error
	b   [8]byte
}

func (e *encoder) write(p []byte) {
	if e.err != nil {
		return
	}
	k, err := e.w.Write(p)
	e.n += int64(k)
	e.err = err
}

func (e *encoder) u8(v uint8) { e.b[0] = v; e.write(e.b[:1]) }

func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.b[:], v)
	e.write(e.b[:2])
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.b[:], v)
	e.write(e.b[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.b[:], v)
	e.write(e.b[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
		if e.err == nil {
			e.n += int64(len(s))
		}
	}
}

func (e *encoder) pad(align int64) {
	var zero [64]byte
	for e.err == nil && e.n%align != 0 {
		k := min(align-e.n%align, int64(len(zero)))
		e.write(zero[:k])
	}
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// valueType returns the GGUF type id of a scalar Go value (not arrays).
func valueType(v any) (uint32, bool) {
	switch v.(type) {
	case uint8:
		return gtUint8, true
	case int8:
		return gtInt8, true
	case uint16:
		return gtUint16, true
	case int16:
		return gtInt16, true
	case uint32:
		return gtUint32, true
	case int32:
		return gtInt32, true
	case float32:
		return gtFloat32, true
	case bool:
		return gtBool, true
	case string:
		return gtString, true
	case uint64:
		return gtUint64, true
	case int64:
		return gtInt64, true
	case float64:
		return gtFloat64, true
	}
	return 0, false
}

// scalar writes a scalar value without its type id.
func (e *encoder) scalar(v any) {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.u8(boolByte(x))
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	}
}

func writeArr[T any](e *encoder, et uint32, xs []T) {
	e.u32(gtArray)
	e.u32(et)
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		if e.err != nil {
			return
		}
		e.scalar(x)
	}
}

// checkValue reports whether v can be encoded as a GGUF value.
func checkValue(v any) error {
	if _, ok := valueType(v); ok {
		return nil
	}
	switch v.(type) {
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32,
		[]bool, []string, []uint64, []int64, []float64:
		return nil
	}
	return fmt.Errorf("unsupported GGUF value type %T (use explicitly sized types, e.g. uint32, int32, float32, []string)", v)
}

// kv writes one key/value pair (key, type id, value).
func (e *encoder) kv(key string, v any) {
	e.str(key)
	if t, ok := valueType(v); ok {
		e.u32(t)
		e.scalar(v)
		return
	}
	switch x := v.(type) {
	case []uint8:
		writeArr(e, gtUint8, x)
	case []int8:
		writeArr(e, gtInt8, x)
	case []uint16:
		writeArr(e, gtUint16, x)
	case []int16:
		writeArr(e, gtInt16, x)
	case []uint32:
		writeArr(e, gtUint32, x)
	case []int32:
		writeArr(e, gtInt32, x)
	case []float32:
		writeArr(e, gtFloat32, x)
	case []bool:
		writeArr(e, gtBool, x)
	case []string:
		writeArr(e, gtString, x)
	case []uint64:
		writeArr(e, gtUint64, x)
	case []int64:
		writeArr(e, gtInt64, x)
	case []float64:
		writeArr(e, gtFloat64, x)
	default:
		if e.err == nil {
			e.err = errors.New("ggufgen: " + checkValue(v).Error())
		}
	}
}
