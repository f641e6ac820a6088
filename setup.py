"""websocket_redundancy: an ament_python package that is also pip-installable.

Runtime dependencies that rosdep provides on Humble and Jazzy are in
``install_requires`` (``twisted[tls]`` is what Debian's ``python3-twisted`` brings:
pyOpenSSL and service-identity, for ``wss://``); the embedded graph (Zenoh + rosbags, for running without
ROS 2) and the fast JSON encoder are extras, so ``ros2 run`` never fails for a
package that only the embedded mode needs.
"""
from glob import glob

from setuptools import find_packages, setup

package_name = 'websocket_redundancy'

setup(
    name=package_name,
    version='0.1.0',
    package_dir={'': 'src'},
    packages=find_packages('src'),
    package_data={package_name: ['web/*.html', 'web/*.js', 'web/*.css', 'web/package.json',
                               'schema/*.json']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml')),
    ],
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'twisted[tls]>=22.1',
        'autobahn>=22.1',
        'pyyaml>=5.4',
    ],
    extras_require={
        'embedded': [
            'eclipse-zenoh>=1.4,<2',
            'rosbags>=0.10,<0.12',
            'orjson>=3.8',
        ],
        'test': [
            'pytest>=7',
            'roslibpy>=1.6',
            'hypothesis>=6.80',
            'jsonschema>=4.17',
            'ruff>=0.5',
            'playwright>=1.40',  # drives the system Chromium in test/browser
            'matplotlib>=3.5',  # the benchmarks' smoke test draws the plots
            'cbor2>=5',  # decodes the tiers' CBOR frames in the tests
            'Pillow>=9',  # decodes their PNG frames
        ],
        'bench': [
            'matplotlib>=3.5',  # python -m benchmarks draws its plots with the Agg backend
        ],
    },
    tests_require=['pytest'],
    zip_safe=True,
    maintainer='websocket_redundancy maintainers',
    maintainer_email='team@example.org',
    description='Redundant, scoped rosbridge-v2 WebSocket tiers with failover clients.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'websocket-redundancy = websocket_redundancy.cli:main',
            # ROS 2 nodes (ros2 run / ros2 launch); they need rclpy at run time only.
            'tier_node = websocket_redundancy.ros.tier_node:main',
            'coordinator_node = websocket_redundancy.ros.coordinator_node:main',
            'sim_node = websocket_redundancy.ros.sim_node:main',
        ],
    },
)
