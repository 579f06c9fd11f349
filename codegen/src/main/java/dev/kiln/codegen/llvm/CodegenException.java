package dev.kiln.codegen.llvm;

/**
 * Code generation failed: the loop IR uses something this backend cannot compile (the message
 * says what, in which kernel, for which target), or, for messages starting "internal error",
 * Kiln built invalid LLVM IR.
 */
public class CodegenException extends RuntimeException {
    public CodegenException(String message) {
        super(message);
    }

    public CodegenException(String message, Throwable cause) {
        super(message, cause);
    }
}
