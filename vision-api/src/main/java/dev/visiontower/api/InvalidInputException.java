package dev.visiontower.api;

/**
 * The caller's input is wrong: a missing or unreadable file, a tensor of the wrong shape or dtype, an option that
 * makes no sense. The message names the file or tensor and says what was expected and what was found.
 */
public class InvalidInputException extends VisionTowerException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
