package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.spi.BackendOptions;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/** Options shared by the commands that run a model. */
final class CommonOptions {
    /** System property naming the model used when {@code --model} is omitted (the launcher sets it). */
    static final String DEFAULT_MODEL_PROPERTY = "visiontower.default.model";

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model directory (config.json + model.safetensors). Default: the bundled sample model.")
    Path model;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend name (default: -Dvisiontower.backend, $VISIONTOWER_BACKEND, else the best available).")
    String backend;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32",
            description = "Compute dtype: float32, bfloat16 or float16 (default: ${DEFAULT-VALUE}; the backend must support it).")
    String dtype;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Intra-op threads (default: the backend's choice).")
    int threads;

    @Option(names = "--option", paramLabel = "KEY=VALUE",
            description = "Backend-specific option (repeat), e.g. tf32=true or attention=unfused for jcuda.")
    Map<String, String> extra = new java.util.LinkedHashMap<>();

    @Mixin
    VerboseOption verbose;

    Path modelDir() {
        Path dir = model;
        if (dir == null) {
            String dflt = System.getProperty(DEFAULT_MODEL_PROPERTY);
            if (dflt == null) {
                String home = System.getProperty("visiontower.home");
                if (home != null) {
                    dflt = Paths.get(home, "samples", "model").toString();
                }
            }
            if (dflt == null) {
                throw new InvalidInputException("no --model given and no bundled model configured");
            }
            dir = Paths.get(dflt);
        }
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + ": no such model directory");
        }
        return dir;
    }

    Backend openBackend() {
        if (threads < 0) {
            throw new InvalidInputException("--threads must be >= 0, got " + threads);
        }
        Device d = Device.parse(device);
        return Backends.open(backend, new BackendOptions(d, DType.parse(dtype), threads, extra));
    }
}
