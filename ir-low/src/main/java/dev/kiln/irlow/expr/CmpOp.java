package dev.kiln.irlow.expr;

public enum CmpOp {
    EQ("=="), NE("!="), LT("<"), LE("<="), GT(">"), GE(">=");

    public final String symbol;

    CmpOp(String symbol) {
        this.symbol = symbol;
    }
}
