package dev.visiontower.api;

/** A backend was asked for by name (or none at all could be found) and cannot run here; the message says why. */
public class BackendUnavailableException extends VisionTowerException {
    private static final long serialVersionUID = 1L;

    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
