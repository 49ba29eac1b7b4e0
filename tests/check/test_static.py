"""The static rules of ``byoi check`` that no test image can show (size, architecture)."""

from byoi.check.static import ImageFacts, check_image, image_user


def facts(**kw) -> ImageFacts:
    return ImageFacts(reference="x", user="1000", passwd={"sagemaker-user": (1000, 100)}, **kw)


def test_too_large_and_wrong_architecture():
    codes = [f.code for f in check_image(facts(size=26 * 10**9, architecture="arm64"), 1000, 100, "/home/sagemaker-user")]
    assert codes == ["image-too-large", "architecture-unsupported"]


def test_image_user_resolution():
    assert image_user(facts()) == (1000, 100)
    assert image_user(ImageFacts("x", user="sagemaker-user", passwd={"sagemaker-user": (1000, 100)})) == (1000, 100)
    assert image_user(ImageFacts("x", user="", passwd={"root": (0, 0)})) == (0, 0)
    assert image_user(ImageFacts("x", user="1000:users", passwd={}, groups={"users": 100})) == (1000, 100)
    assert image_user(ImageFacts("x", user="nobody-here", passwd={})) is None


def test_skeleton_dotfiles_under_the_home_are_not_reported():
    files = {"/home/sagemaker-user/.bashrc", "/home/sagemaker-user/.profile"}
    assert check_image(facts(files=files), 1000, 100, "/home/sagemaker-user") == []


def test_a_bare_kernel_program_is_looked_up_on_the_images_path():
    from byoi.check.static import check_kernels

    on_path = facts(files={"/opt/venv/bin/python3"}, kernelspecs={"py": ["python3", "-m", "ipykernel_launcher"]}, path="/opt/venv/bin:/usr/bin")
    assert check_kernels(on_path, ["py"]) == []
    missing = facts(files={"/usr/bin/python3"}, kernelspecs={"py": ["python3.12", "-m", "ipykernel_launcher"]})
    assert [f.code for f in check_kernels(missing, ["py"])] == ["kernel-argv-missing"]
    relative = facts(files={"/usr/bin/python3"}, kernelspecs={"py": ["bin/python3"]})
    assert [f.code for f in check_kernels(relative, ["py"])] == ["kernel-argv-relative"]
