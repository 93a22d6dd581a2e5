namespace Parley.Compat.OpenIM;

/// <summary>OpenIM's error codes (servererrs/code.go) that this edge returns.</summary>
public static class OpenImErrors
{
    public const int Internal = 500;
    public const int Args = 1001;
    public const int NoPermission = 1002;
    public const int Duplicate = 1003;
    public const int RecordNotFound = 1004;
    public const int UserNotFound = 1101;
    public const int TokenExpired = 1501;
    public const int TokenInvalid = 1502;
    public const int TokenMalformed = 1503;
    public const int TokenNotValidYet = 1504;
    public const int TokenUnknown = 1505;
    public const int TokenKicked = 1506;
    public const int TokenNotExist = 1507;
}
