using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Agent.Tests;

public class AgentMetricsTests
{
    [Fact]
    public void Rows_written_and_deleted_are_counted_from_the_transactions_answer()
    {
        Operation[] operations =
        [
            new InsertOperation("Logical_Switch"),
            new InsertOperation("Ucast_Macs_Remote"),
            new UpdateOperation("Physical_Port").WhereUuid(Guid.NewGuid()),
            new MutateOperation("Mcast_Macs_Remote").WhereUuid(Guid.NewGuid()),
            new DeleteOperation("Ucast_Macs_Remote").Where("MAC", "02:00:00:00:00:01"),
            new DeleteOperation("Physical_Locator").WhereUuid(Guid.NewGuid()),
        ];

        // The answer of [assert, .. operations]: the assert first, then one result per operation.
        var result = new TransactResult(
        [
            new OperationResult(null, null, null, null),
            new OperationResult(Guid.NewGuid(), null, null, null),
            new OperationResult(Guid.NewGuid(), null, null, null),
            new OperationResult(null, null, 1, null),
            new OperationResult(null, null, 1, null),
            new OperationResult(null, null, 3, null),
            new OperationResult(null, null, 0, null),
        ],
            null);

        Assert.Equal((4L, 3L), AgentMetrics.RowCounts(operations, result));
    }

    [Fact]
    public void A_short_answer_counts_only_what_it_answers()
    {
        Operation[] operations = [new InsertOperation("Logical_Switch"), new DeleteOperation("Ucast_Macs_Remote").WhereUuid(Guid.NewGuid())];
        var result = new TransactResult([new OperationResult(null, null, null, null), new OperationResult(Guid.NewGuid(), null, null, null)], null);

        Assert.Equal((1L, 0L), AgentMetrics.RowCounts(operations, result));
    }
}
