package dev.visiontower.api;

/**
 * A native allocation failed: host memory of a CPU engine or device memory of a GPU. Not the caller's input being
 * wrong (that is {@link InvalidInputException}): a smaller batch, a smaller dtype or another device may fit. The
 * message says which engine, and how much was asked for where the engine tells.
 */
public class OutOfMemoryException extends VisionTowerException {
    private static final long serialVersionUID = 1L;

    public OutOfMemoryException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Whether a native engine's error message reports a failed allocation (libtorch, ONNX Runtime, CUDA). */
    public static boolean isOutOfMemory(String nativeMessage) {
        if (nativeMessage == null) {
            return false;
        }
        String m = nativeMessage.toLowerCase(java.util.Locale.ROOT);
        return m.contains("out of memory") || m.contains("not enough memory") || m.contains("failed to allocate")
                || m.contains("bad_alloc") || m.contains("cuda_error_out_of_memory")
                || m.contains("cudaerrormemoryallocation");
    }
}
