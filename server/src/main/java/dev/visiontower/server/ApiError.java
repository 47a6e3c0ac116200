package dev.visiontower.server;

/**
 * A request the server refuses: HTTP status, OpenAI-style error type, and where in the request the problem is
 * ({@code param}, {@code index}; either may be null). Its message is meant for the caller and never holds a stack
 * trace.
 */
final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;
    final String type;
    final String param;
    final Integer index;

    ApiError(int status, String type, String message, String param, Integer index) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.index = index;
    }

    static ApiError badRequest(String message, String param, Integer index) {
        return new ApiError(400, "invalid_request_error", message, param, index);
    }
}
