using CouponBooks.Books.Codes;

namespace CouponBooks.Tests.Codes;

public sealed class CodePermutationTests
{
    public static TheoryData<ulong, int> DomainsAndKeys()
    {
        var data = new TheoryData<ulong, int>();
        foreach (ulong domain in new ulong[] { 1, 2, 3, 10, 26, 1000, 4096, 100_003 })
        {
            for (int key = 0; key < Keys.Length; key++)
            {
                data.Add(domain, key);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DomainsAndKeys))]
    public void The_permutation_is_a_bijection_of_its_domain(ulong domain, int key)
    {
        var permutation = new CodePermutation(domain, Keys[key]);
        var seen = new bool[domain];

        for (ulong value = 0; value < domain; value++)
        {
            ulong image = permutation.Permute(value);
            Assert.True(image < domain, $"{value} -> {image} is outside [0, {domain})");
            Assert.False(seen[image], $"{image} is reached twice");
            seen[image] = true;
        }
    }

    [Fact]
    public void The_same_key_gives_the_same_order()
    {
        Assert.Equal(Order(100_003, Keys[1]), Order(100_003, Keys[1].ToArray()));
    }

    [Fact]
    public void Different_keys_give_different_orders_that_do_not_follow_the_counter()
    {
        var orders = Keys.Select(key => Order(1000, key)).ToList();

        foreach (var order in orders)
        {
            Assert.True(order.Where((image, value) => image == (ulong)value).Count() < 20, "the order is close to the identity");
        }

        for (int a = 0; a < orders.Count; a++)
        {
            for (int b = a + 1; b < orders.Count; b++)
            {
                int same = orders[a].Zip(orders[b]).Count(pair => pair.First == pair.Second);
                Assert.True(same < 20, $"keys {a} and {b} agree on {same} of 1000 values");
            }
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void Every_byte_of_the_key_changes_the_order(int keyLength)
    {
        byte[] key = Enumerable.Range(1, keyLength).Select(i => (byte)(i * 37)).ToArray();
        var original = Order(1000, key);

        for (int i = 0; i < keyLength; i++)
        {
            byte[] changed = key.ToArray();
            changed[i] ^= 0x01;
            Assert.NotEqual(original, Order(1000, changed));
        }
    }

    [Fact]
    public void The_largest_domain_is_served()
    {
        var permutation = new CodePermutation(CodePermutation.MaxDomain, Keys[0]);

        var images = new HashSet<ulong>();
        foreach (ulong value in new[] { 0UL, 1UL, 2UL, CodePermutation.MaxDomain / 2, CodePermutation.MaxDomain - 1 })
        {
            ulong image = permutation.Permute(value);
            Assert.True(image < CodePermutation.MaxDomain);
            Assert.True(images.Add(image));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(24)]
    [InlineData(64)]
    public void A_key_of_other_than_16_or_32_bytes_is_refused(int keyLength)
    {
        Assert.Throws<ArgumentException>(() => new CodePermutation(10, new byte[keyLength]));
    }

    [Fact]
    public void A_domain_outside_1_to_2_pow_62_or_a_value_outside_the_domain_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CodePermutation(0, Keys[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CodePermutation(CodePermutation.MaxDomain + 1, Keys[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CodePermutation(10, Keys[0]).Permute(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CodePermutation(1, Keys[0]).Permute(1));
    }

    internal static readonly byte[][] Keys =
    [
        new byte[16],
        Enumerable.Range(0, 16).Select(i => (byte)(i + 1)).ToArray(),
        Enumerable.Range(0, 32).Select(i => (byte)(255 - i * 7)).ToArray(),
        Convert.FromHexString("5A1F0E7C93B24D68A0C1E2F30415263748596A7B8C9DAEBFC0D1E2F301122334"),
    ];

    private static ulong[] Order(ulong domain, byte[] key)
    {
        var permutation = new CodePermutation(domain, key);
        var order = new ulong[domain];
        for (ulong value = 0; value < domain; value++)
        {
            order[value] = permutation.Permute(value);
        }

        return order;
    }
}
