package dev.kiln.codegen.opencl;

/**
 * The loop IR uses something the OpenCL C printer cannot express (the message names the kernel,
 * what it met, and what to do instead), or the device would need an extension it lacks.
 */
public class OpenClException extends RuntimeException {
    public OpenClException(String message) {
        super(message);
    }
}
