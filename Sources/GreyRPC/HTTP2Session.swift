import CNghttp2
import GreyWire
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// What an `HTTP2Session` reports as nghttp2 parses a peer's bytes. All calls arrive
/// synchronously inside `HTTP2Session.receive(_:)`, on the connection's event loop.
protocol HTTP2SessionDelegate: AnyObject {
    /// A request (server) or response (client) header block begins on `streamID`.
    func http2BeginHeaders(streamID: Int32)
    /// One header field of a block (request trailers included), as nghttp2's bytes: valid
    /// only during the call. Most headers are not wanted; only those are made into Strings.
    func http2Header(streamID: Int32, name: HeaderBytes, value: HeaderBytes)
    /// A chunk of DATA payload.
    func http2Data(streamID: Int32, bytes: UnsafeRawBufferPointer)
    /// A header block finished; `endStream` when the peer sent END_STREAM with it.
    func http2HeadersComplete(streamID: Int32, endStream: Bool)
    /// The peer sent END_STREAM on a DATA frame.
    func http2DataEnded(streamID: Int32)
    /// The stream is gone (finished, reset by either side, or the connection ended).
    func http2StreamClosed(streamID: Int32, errorCode: UInt32)
}

/// A header name or value as it lies in nghttp2's buffer.
struct HeaderBytes {
    let bytes: UnsafeBufferPointer<UInt8>

    /// Whether these are exactly the bytes of `literal` (header names arrive lower-cased).
    func matches(_ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        return bytes.count == 0 || memcmp(bytes.baseAddress!, literal.utf8Start, bytes.count) == 0
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Settings a Grey HTTP/2 endpoint advertises.
public struct HTTP2Limits: Sendable {
    /// Streams one peer may have open at once on one connection.
    public var maxConcurrentStreams: UInt32 = 1024
    /// Per-stream receive window; large so a 4 MiB message needs no window round trips.
    public var initialStreamWindowBytes: UInt32 = 8 << 20
    /// Connection receive window, shared by every stream.
    public var connectionWindowBytes: Int32 = 64 << 20
    /// Largest DATA frame we accept.
    public var maxFrameBytes: UInt32 = 1 << 20
    /// Largest header list we accept.
    public var maxHeaderListBytes: UInt32 = 64 << 10

    public init() {}
}

/// Owns one nghttp2 session driven in memory: bytes in through `receive`, bytes out
/// through `drainOutput`. Outgoing message bodies are queued per stream and copied into
/// nghttp2's frames by the data source callback.
///
/// Not thread-safe: used only on its connection's event loop. The C callbacks find this
/// object through nghttp2's user-data pointer; that is safe because `deinit` deletes the
/// session before the object goes away.
final class HTTP2Session {
    enum Role { case server, client }

    /// A message body being sent on a stream, and the trailers that follow it.
    private struct OutgoingBody {
        var bytes: [UInt8]
        var offset = 0
        var trailers: [(String, String)]
    }

    private var session: OpaquePointer?
    private var outgoing: [Int32: OutgoingBody] = [:]
    /// Bytes of message bodies submitted but not yet handed to nghttp2 (held back by the
    /// peer's flow-control window or not yet written).
    private(set) var queuedBodyBytes = 0
    weak var delegate: HTTP2SessionDelegate?
    /// The delegate, held strongly while nghttp2 parses one read: its callbacks (several per
    /// request) use this instead of loading the weak reference each time.
    private var receiving: HTTP2SessionDelegate?

    init(role: Role, limits: HTTP2Limits, delegate: HTTP2SessionDelegate) throws(GRPCStatus) {
        self.delegate = delegate
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            throw GRPCStatus(.internal, "nghttp2: cannot allocate callbacks")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        HTTP2Session.install(callbacks)
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_max_send_header_block_length(option, 64 << 10)
        if role == .server {
            // The server reopens receive windows only as handlers take messages (`consume`):
            // with nghttp2's automatic WINDOW_UPDATE, a window reopened as soon as bytes were
            // parsed, and a client could make the server buffer without limit.
            nghttp2_option_set_no_auto_window_update(option, 1)
        }
        let userData = Unmanaged.passUnretained(self).toOpaque()
        let created: Int32 = switch role {
        case .server: nghttp2_session_server_new2(&session, callbacks, userData, option)
        case .client: nghttp2_session_client_new2(&session, callbacks, userData, option)
        }
        guard created == 0 else { throw GRPCStatus(.internal, "nghttp2: \(String(cString: nghttp2_strerror(created)))") }
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: limits.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: limits.initialStreamWindowBytes),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue), value: limits.maxFrameBytes),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: limits.maxHeaderListBytes),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
        ]
        if role == .server { settings.removeLast() }  // ENABLE_PUSH is a client-only setting
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, limits.connectionWindowBytes)
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Feeds bytes from the socket; throws when the peer broke the protocol badly enough
    /// that the connection must close (nghttp2 has then queued a GOAWAY to send first).
    func receive(_ buffer: ByteBuffer) throws(GRPCStatus) {
        receiving = delegate
        defer { receiving = nil }
        let consumed = buffer.withUnsafeReadableBytes { bytes in
            nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        if consumed < 0 {
            throw GRPCStatus(.internal, "HTTP/2 protocol error: \(String(cString: nghttp2_strerror(Int32(consumed))))")
        }
    }

    /// Everything nghttp2 has queued to send, or nil when there is nothing.
    func drainOutput(allocator: ByteBufferAllocator) -> ByteBuffer? {
        var output: ByteBuffer? = nil
        while true {
            var data: UnsafePointer<UInt8>?
            let length = nghttp2_session_mem_send(session, &data)
            guard length > 0, let data else { break }
            // The pointer is valid only until the next nghttp2 call: copy it out now.
            if output == nil { output = allocator.buffer(capacity: max(Int(length), 4096)) }
            output!.writeBytes(UnsafeRawBufferPointer(start: data, count: Int(length)))
        }
        return output
    }

    /// False once both directions are finished (after GOAWAY exchange or a fatal error).
    var isAlive: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    /// Answers a request: response headers, then `body` (if any) and `trailers`.
    /// With no body the headers and trailers go out as one trailers-only block.
    func submitResponse(streamID: Int32, headers: [(String, String)], body: [UInt8]?, trailers: [(String, String)]) {
        guard let body else {
            withNameValues(headers + trailers) { nva, count in
                _ = nghttp2_submit_response(session, streamID, nva, count, nil)
            }
            return
        }
        outgoing[streamID] = OutgoingBody(bytes: body, trailers: trailers)
        queuedBodyBytes += body.count
        var provider = HTTP2Session.dataProvider
        withNameValues(headers) { nva, count in
            _ = nghttp2_submit_response(session, streamID, nva, count, &provider)
        }
    }

    /// Starts a request with `body`; returns the new stream id or a negative nghttp2 error.
    func submitRequest(headers: [(String, String)], body: [UInt8]) -> Int32 {
        var provider = HTTP2Session.dataProvider
        let streamID = withNameValues(headers) { nva, count in
            nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        if streamID > 0 {
            outgoing[streamID] = OutgoingBody(bytes: body, trailers: [])
            queuedBodyBytes += body.count
        }
        return streamID
    }

    /// Tells nghttp2 the application is done with `bytes` of `streamID`'s DATA, so they may be
    /// given back to the peer's windows (server sessions only).
    func consume(streamID: Int32, bytes: Int) {
        guard bytes > 0 else { return }
        nghttp2_session_consume(session, streamID, bytes)
    }

    /// Like `consume`, for a stream that is closing: only the connection window is given back.
    func consumeConnection(bytes: Int) {
        guard bytes > 0 else { return }
        nghttp2_session_consume_connection(session, bytes)
    }

    /// Abandons a stream in both directions.
    func resetStream(_ streamID: Int32, errorCode: UInt32 = NGHTTP2_CANCEL.rawValue) {
        dropOutgoing(streamID)
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
    }

    /// Sends GOAWAY; the connection should close once output drains.
    func terminate(errorCode: UInt32 = NGHTTP2_NO_ERROR.rawValue) {
        nghttp2_session_terminate_session(session, errorCode)
    }

    // MARK: - Data source

    /// Copies the next slice of a stream's queued body into nghttp2's frame buffer.
    fileprivate func readBody(streamID: Int32, into buffer: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard var body = outgoing[streamID] else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let count = min(length, body.bytes.count - body.offset)
        if count > 0 {
            body.bytes.withUnsafeBytes { source in
                buffer.update(from: source.baseAddress!.advanced(by: body.offset).assumingMemoryBound(to: UInt8.self), count: count)
            }
            body.offset += count
            queuedBodyBytes -= count
        }
        if body.offset == body.bytes.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            outgoing[streamID] = nil
            if !body.trailers.isEmpty {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                withNameValues(body.trailers) { nva, count in
                    _ = nghttp2_submit_trailer(session, streamID, nva, count)
                }
            }
        } else {
            outgoing[streamID] = body
        }
        return count
    }

    /// Forgets a stream's unsent body.
    private func dropOutgoing(_ streamID: Int32) {
        guard let body = outgoing.removeValue(forKey: streamID) else { return }
        queuedBodyBytes -= body.bytes.count - body.offset
    }

    fileprivate func streamClosed(_ streamID: Int32, errorCode: UInt32) {
        dropOutgoing(streamID)
        (receiving ?? delegate)?.http2StreamClosed(streamID: streamID, errorCode: errorCode)
    }

    private static let dataProvider = nghttp2_data_provider(
        source: nghttp2_data_source(ptr: nil),
        read_callback: { _, streamID, buffer, length, flags, _, userData in
            guard let buffer, let flags, let userData else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
            return HTTP2Session.from(userData).readBody(streamID: streamID, into: buffer, length: length, flags: flags)
        })

    // MARK: - Callbacks

    fileprivate static func from(_ userData: UnsafeMutableRawPointer) -> HTTP2Session {
        Unmanaged<HTTP2Session>.fromOpaque(userData).takeUnretainedValue()
    }

    /// Who hears about what nghttp2 parsed: the delegate held for this read, else the weak one.
    fileprivate static func delegate(_ userData: UnsafeMutableRawPointer) -> HTTP2SessionDelegate? {
        let session = from(userData)
        return session.receiving ?? session.delegate
    }

    private static func install(_ callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            guard let frame, let userData else { return 0 }
            if frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) {
                HTTP2Session.delegate(userData)?.http2BeginHeaders(streamID: frame.pointee.hd.stream_id)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, let name, let value, let userData else { return 0 }
            HTTP2Session.delegate(userData)?.http2Header(
                streamID: frame.pointee.hd.stream_id, name: HeaderBytes(bytes: UnsafeBufferPointer(start: name, count: nameLength)),
                value: HeaderBytes(bytes: UnsafeBufferPointer(start: value, count: valueLength)))
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            guard let userData else { return 0 }
            HTTP2Session.delegate(userData)?.http2Data(streamID: streamID, bytes: UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            guard let frame, let userData else { return 0 }
            let header = frame.pointee.hd
            let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            let delegate = HTTP2Session.delegate(userData)
            if header.type == UInt8(NGHTTP2_HEADERS.rawValue) {
                delegate?.http2HeadersComplete(streamID: header.stream_id, endStream: endStream)
            } else if header.type == UInt8(NGHTTP2_DATA.rawValue), endStream {
                delegate?.http2DataEnded(streamID: header.stream_id)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, userData in
            guard let userData else { return 0 }
            HTTP2Session.from(userData).streamClosed(streamID, errorCode: errorCode)
            return 0
        }
    }
}

/// Calls `body` with nghttp2 name/value pairs for `headers`; nghttp2 copies them during
/// the submit call, so the storage only has to outlive `body`.
private func withNameValues<R>(_ headers: [(String, String)], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
    var storage: [UInt8] = []
    var spans: [(name: Range<Int>, value: Range<Int>)] = []
    for (name, value) in headers {
        let nameStart = storage.count
        storage.append(contentsOf: name.utf8)
        let valueStart = storage.count
        storage.append(contentsOf: value.utf8)
        spans.append((nameStart..<valueStart, valueStart..<storage.count))
    }
    storage.append(0)  // never empty, so baseAddress is never nil
    return storage.withUnsafeMutableBufferPointer { bytes in
        let base = bytes.baseAddress!
        let pairs = spans.map { span in
            nghttp2_nv(
                name: base + span.name.lowerBound, value: base + span.value.lowerBound,
                namelen: span.name.count, valuelen: span.value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        }
        return pairs.withUnsafeBufferPointer { body($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, $0.count) }
    }
}
