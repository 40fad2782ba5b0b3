import CJemalloc

/// The memory allocator greyd runs on: jemalloc, linked in (Package.swift's CJemalloc), so
/// Swift's runtime, NIO and RocksDB all allocate through it. Against glibc's malloc, a
/// leader under load spent a sixth of its CPU in malloc and free (`_int_malloc`,
/// `malloc_consolidate`: the Readys, batches and encoded appends of every write);
/// with jemalloc the CPU per write at 64 and 1024 streams fell by about a fifth
/// (bench/REPORT.md, session 16). RocksDB's own guide recommends it.
enum Allocator {
    /// jemalloc's version, as it reports itself; nil if the process does not run on it.
    static var version: String? {
        var text: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &text, &size, nil, 0) == 0, let text else { return nil }
        return String(cString: text)
    }
}
