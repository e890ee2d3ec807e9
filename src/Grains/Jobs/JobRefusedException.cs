namespace CouponBooks.Jobs;

/// <summary>A job's work was refused for a reason its caller should see (not a fault): the job ends failed with this error.</summary>
public sealed class JobRefusedException(JobError error) : Exception(error.Detail)
{
    public JobError Error { get; } = error;
}
