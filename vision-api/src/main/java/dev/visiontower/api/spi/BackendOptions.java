package dev.visiontower.api.spi;

import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.InvalidInputException;
import java.util.Map;

/**
 * Options for opening a backend.
 *
 * @param device  the device to bind to
 * @param dtype   the type weights and activations are computed in (float32, float16, bfloat16), or int8: int8
 *                matrix products on float32 tensors (see {@link DType#INT8}); host data is converted on upload and
 *                back to float32 on download
 * @param threads intra-op threads (0 = the engine's default)
 * @param extra   engine-specific settings, declared by each backend ({@link BackendProvider#options()}); a key may
 *                be prefixed with a backend's name ({@code onnx.fusions}) to apply to that backend only
 */
public record BackendOptions(Device device, DType dtype, int threads, Map<String, String> extra) {

    public BackendOptions {
        if (device == null) {
            device = Device.CPU;
        }
        if (dtype == null) {
            dtype = DType.FLOAT32;
        }
        if (dtype != DType.FLOAT32 && dtype != DType.FLOAT16 && dtype != DType.BFLOAT16 && dtype != DType.INT8) {
            throw new InvalidInputException("compute dtype must be float32, float16, bfloat16 or int8, got " + dtype);
        }
        if (threads < 0) {
            throw new InvalidInputException("threads must be >= 0, got " + threads);
        }
        extra = Map.copyOf(extra);
    }

    public static BackendOptions defaults() {
        return new BackendOptions(Device.CPU, DType.FLOAT32, 0, Map.of());
    }

    public BackendOptions withDevice(Device d) {
        return new BackendOptions(d, dtype, threads, extra);
    }

    public BackendOptions withDType(DType t) {
        return new BackendOptions(device, t, threads, extra);
    }

    public BackendOptions withExtra(Map<String, String> e) {
        return new BackendOptions(device, dtype, threads, e);
    }

    public BackendOptions withThreads(int n) {
        return new BackendOptions(device, dtype, n, extra);
    }
}
