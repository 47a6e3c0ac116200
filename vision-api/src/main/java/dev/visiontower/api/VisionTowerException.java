package dev.visiontower.api;

/** Base of every exception this library throws on purpose. Unchecked; the message is meant for a person. */
public class VisionTowerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VisionTowerException(String message) {
        super(message);
    }

    public VisionTowerException(String message, Throwable cause) {
        super(message, cause);
    }
}
