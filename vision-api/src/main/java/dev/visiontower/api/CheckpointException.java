package dev.visiontower.api;

/** A checkpoint (safetensors file, config.json) is corrupt, or its tensors do not match the model it declares. */
public class CheckpointException extends InvalidInputException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
