// The machine's HTTP limit for the API benchmark: the smallest ASP.NET Core endpoint, on the same Kestrel.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapGet("/", () => Results.Text("""{"hello":"world"}""", "application/json"));
app.Run();
